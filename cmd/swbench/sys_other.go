//go:build !linux

package main

import (
	"errors"
	"syscall"
	"time"
)

// raiseFileLimit is a no-op off Linux: Go raises the limit itself on Unix.
func raiseFileLimit() (uint64, error) { return 0, nil }

// childProcAttr has no death signal off Linux.
func childProcAttr() *syscall.SysProcAttr { return nil }

// processFileLimit needs /proc.
func processFileLimit(int) (string, error) {
	return "", errors.New("the server's open files limit is only read on Linux")
}

// selfCPU needs getrusage.
func selfCPU() (time.Duration, error) {
	return 0, errors.New("the bench's CPU time is only read on Linux")
}

// machineCPU needs /proc/stat.
func machineCPU() (time.Duration, error) {
	return 0, errors.New("the machine's CPU time is only read on Linux")
}
