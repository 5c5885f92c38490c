//go:build !wasm

package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag of a size in bytes, written as a number with an
// optional unit: 4GiB, 512MiB, 64KiB (powers of 1024), 2GB, 500MB (powers
// of 1000), or plain bytes.
type byteSize struct{ n *int64 }

var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

func (b byteSize) String() string {
	if b.n == nil || *b.n == 0 {
		return "0"
	}
	for _, u := range byteUnits[:4] {
		if *b.n%u.factor == 0 && *b.n/u.factor < 1024 {
			return strconv.FormatInt(*b.n/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(*b.n, 10)
}

func (b byteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	factor := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, factor = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("want a positive size such as 512MiB or 4GiB")
	}
	*b.n = n * factor
	return nil
}
