package accounts

import "testing"

// BenchmarkHashPassword is the cost of one sign-in's hash at DefaultParams.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("夜班调度-2026-secret", DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}
