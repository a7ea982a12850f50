package intake

import "testing"

// Stored request hashes must keep matching their retries across changes of
// the content's Go types (the appeal type and urgency became pkg/reference's):
// the fingerprint of a fixed order is pinned.
func TestFingerprintPinned(t *testing.T) {
	t.Parallel()
	const want = "v2:53181e19b291a8ba4c101dd365bfd4d54fff31a66918de2a3111ce01fff7d6e8"
	if got := hashOf(goodOrder()); got != want {
		t.Errorf("hashOf(goodOrder()) = %s, want %s", got, want)
	}
	// Issue 20: an order saying its location is private is other content.
	private := goodOrder()
	private.PrivateLocation = true
	if got := hashOf(private); got == want {
		t.Errorf("a private order fingerprints as the same order")
	}
}
