package graphsim

import (
	"fmt"
	"hash/fnv"
	"math/bits"
	mrand "math/rand/v2"
)

// newUUID formats 128 random bits as a version 4 UUID, the shape of Graph's
// call, chain and participant ids.
func newUUID(hi, lo uint64) string {
	hi = hi&^0xf000 | 0x4000                        // version 4
	lo = lo&^(0xc<<60) | 0x8<<60                    // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", // 8-4-4-4-12
		hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// drawUUID draws a UUID from rng, so that seeded traffic has reproducible ids.
func drawUUID(rng *mrand.Rand) string { return newUUID(rng.Uint64(), rng.Uint64()) }

// drawSaltedUUID draws a UUID from rng as drawUUID does, with salt mixed
// into both halves: the same draws under another salt give other ids, and
// a zero salt gives drawUUID's. The stream consumes the same numbers either
// way, so the salt changes no other choice of the traffic.
func drawSaltedUUID(rng *mrand.Rand, salt uint64) string {
	return newUUID(rng.Uint64()^salt, rng.Uint64()^bits.RotateLeft64(salt, 31))
}

// callStream derives the random stream of a call's wire quirks from its id,
// so that a call's quirks depend on the seed and the call alone, not on how
// other calls interleave with it.
func callStream(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}
