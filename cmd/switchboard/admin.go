//go:build !wasm

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"switchboard/backend/verba"
)

// subcommand runs one of the administrator's helpers.
func subcommand(name string, args []string) error {
	switch name {
	case "verba-key":
		return verbaKey(args)
	case "verba-user":
		return verbaUser(args)
	default:
		return fmt.Errorf("unknown command %q (commands: verba-key, verba-user; flags start with --)", name)
	}
}

// verbaKey creates a DeleteCall API key: it prints the key once, for the
// integration, and the entry for --verba-config, which holds only its hash.
func verbaKey(args []string) error {
	fs := flag.NewFlagSet("verba-key", flag.ContinueOnError)
	name := fs.String("name", "", "the key's name, as the audit trail shows it (required)")
	requireToken := fs.Bool("require-token", false, "the key needs a token from action=RequestToken")
	networks := fs.String("networks", "", "comma-separated CIDR prefixes the key may be used from (empty: any)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("verba-key: --name is required")
	}
	plain, key, err := verba.NewKey(*name, *requireToken)
	if err != nil {
		return err
	}
	entry := map[string]any{"name": key.Name, "hash": key.Hash, "requireToken": key.RequireToken}
	if *networks != "" {
		entry["networks"] = strings.Split(*networks, ",")
	}
	line, _ := json.Marshal(entry)
	fmt.Printf("API key (give it to the integration; it is not stored):\n  %s\nEntry for the \"keys\" list of --verba-config:\n  %s\n", plain, line)
	return nil
}

// verbaUser hashes an API user's password read from standard input and
// prints the entry for the "users" list of --verba-config.
func verbaUser(args []string) error {
	fs := flag.NewFlagSet("verba-user", flag.ContinueOnError)
	login := fs.String("login", "", "the API user's login (required); the password is read from standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *login == "" {
		return errors.New("verba-user: --login is required")
	}
	pw, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && pw == "" {
		return fmt.Errorf("verba-user: read the password from standard input: %w", err)
	}
	hash, err := verba.HashPassword(strings.TrimRight(pw, "\r\n"))
	if err != nil {
		return err
	}
	line, _ := json.Marshal(map[string]string{"login": *login, "passwordHash": hash})
	fmt.Printf("Entry for the \"users\" list of --verba-config:\n  %s\n", line)
	return nil
}
