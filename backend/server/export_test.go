package server

// Crash stops the replica the way kill -9 does, as far as anyone outside
// the process can tell: its NATS connection drops without a word (its
// writer lease is left to run out), its websockets and HTTP connections are
// cut, and nothing is saved or released on the way out.
func (s *Server) Crash() {
	if s.nats != nil {
		s.nats.NC.Close()
	}
	select {
	case <-s.up:
		s.hub.Abandon()
	default:
	}
	s.httpMu.Lock()
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
	s.httpMu.Unlock()
	s.Close()
}
