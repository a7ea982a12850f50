// Package listener opens TCP listeners with an error a person can act on: a
// port held by something else names the port and the setting that moves it.
package listener

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// Listen listens on addr; setting is the environment variable that configures it.
func Listen(addr, setting string) (net.Listener, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("address %s is already in use by another process: stop it or set %s to another address", addr, setting)
		}
		return nil, fmt.Errorf("listen on %s (%s): %w", addr, setting, err)
	}
	return lis, nil
}
