//go:build !linux

package natstest

import "syscall"

func childAttrs() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
