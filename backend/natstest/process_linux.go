package natstest

import "syscall"

// childAttrs makes a node process die with the test binary, however the
// test binary ends.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
