package store

import (
	"context"
	"testing"
)

func TestCheckWritable(t *testing.T) {
	s, _ := openTest(t)
	if err := s.CheckWritable(bg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := s.CheckWritable(ctx); err == nil {
		t.Error("a cancelled probe reported success")
	}
	s.Close()
	if err := s.CheckWritable(bg); err == nil {
		t.Error("a closed store reported writable")
	}
}
