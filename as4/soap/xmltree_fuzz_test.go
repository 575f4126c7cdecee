package soap

import (
	"testing"
)

// FuzzParseTreeDifferential holds parseTree to etree's ReadFromBytes on
// arbitrary bytes and depth limits: both reject, or both accept with
// identical trees (see diffDocs). Error texts may differ.
func FuzzParseTreeDifferential(f *testing.F) {
	for _, tc := range treeEdgeCases {
		f.Add([]byte(tc.in), int8(0))
	}
	f.Add([]byte("<a><b><c/></b></a>"), int8(2))
	f.Add([]byte("<a><b><c/></b></a>"), int8(3))
	f.Add([]byte("<a><b/></a>"), int8(-1))
	f.Add([]byte(env12), int8(16))
	f.Add([]byte(env11), int8(16))
	addVectorSeeds(f, func(rel string, data []byte) {
		f.Add(data, int8(0))
	})
	for _, data := range vectorRootParts(f) {
		if len(data) <= 64<<10 {
			f.Add(data, int8(0))
			f.Add(NormalizeAttributeWhitespace(trimProlog(data)), int8(16))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, depth int8) {
		checkSameAsEtree(t, data, int(depth))
	})
}
