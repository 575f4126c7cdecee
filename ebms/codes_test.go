package ebms

import "testing"

// TestCodeTable pins every standard code to the specification tables (ebMS 3.0 Core §6.7,
// AS4 profile): short description, default severity and category.
func TestCodeTable(t *testing.T) {
	want := []struct {
		code     Code
		short    string
		severity Severity
		category Category
		origin   string
	}{
		{"EBMS:0001", "ValueNotRecognized", SeverityFailure, CategoryContent, OriginEbMS},
		{"EBMS:0002", "FeatureNotSupported", SeverityWarning, CategoryContent, OriginEbMS},
		{"EBMS:0003", "ValueInconsistent", SeverityFailure, CategoryContent, OriginEbMS},
		{"EBMS:0004", "Other", SeverityFailure, CategoryContent, OriginEbMS},
		{"EBMS:0005", "ConnectionFailure", SeverityFailure, CategoryCommunication, OriginEbMS},
		{"EBMS:0006", "EmptyMessagePartitionChannel", SeverityWarning, CategoryCommunication, OriginEbMS},
		{"EBMS:0007", "MimeInconsistency", SeverityFailure, CategoryUnpackaging, OriginEbMS},
		{"EBMS:0008", "FeatureNotSupported", SeverityFailure, CategoryUnpackaging, OriginEbMS},
		{"EBMS:0009", "InvalidHeader", SeverityFailure, CategoryUnpackaging, OriginEbMS},
		{"EBMS:0010", "ProcessingModeMismatch", SeverityFailure, CategoryProcessing, OriginEbMS},
		{"EBMS:0011", "ExternalPayloadError", SeverityFailure, CategoryContent, OriginEbMS},
		{"EBMS:0101", "FailedAuthentication", SeverityFailure, CategoryProcessing, OriginSecurity},
		{"EBMS:0102", "FailedDecryption", SeverityFailure, CategoryProcessing, OriginSecurity},
		{"EBMS:0103", "PolicyNoncompliance", SeverityFailure, CategoryProcessing, OriginSecurity},
		{"EBMS:0201", "DysfunctionalReliability", SeverityFailure, CategoryProcessing, OriginReliability},
		{"EBMS:0202", "DeliveryFailure", SeverityFailure, CategoryCommunication, OriginReliability},
		{"EBMS:0301", "MissingReceipt", SeverityFailure, CategoryCommunication, OriginEbMS},
		{"EBMS:0302", "InvalidReceipt", SeverityFailure, CategoryCommunication, OriginEbMS},
		{"EBMS:0303", "DecompressionFailure", SeverityFailure, CategoryCommunication, OriginEbMS},
	}
	codes := StandardCodes()
	if len(codes) != len(want) || len(codeTable) != len(want) {
		t.Fatalf("%d codes listed, %d in table, want %d", len(codes), len(codeTable), len(want))
	}
	for i, w := range want {
		c := codes[i]
		if c != w.code || !c.Known() || c.ShortDescription() != w.short || c.Severity() != w.severity || c.Category() != w.category || c.Origin() != w.origin || c.Description() == "" {
			t.Errorf("%s: got %s %q %s %s %s", w.code, c, c.ShortDescription(), c.Severity(), c.Category(), c.Origin())
		}
		if got, ok := LookupCode(string(w.code)); !ok || got != w.code {
			t.Errorf("LookupCode(%s) = %s, %v", w.code, got, ok)
		}
	}
}

func TestLookupCode(t *testing.T) {
	if c, ok := LookupCode(" ebms:0004\n"); !ok || c != CodeOther {
		t.Errorf("LookupCode with spaces and lower-case prefix = %q, %v", c, ok)
	}
	for _, s := range []string{"", "EBMS:4001", "EBMS:04", "0004", "EBMS:0004x"} {
		if c, ok := LookupCode(s); ok {
			t.Errorf("LookupCode(%q) = %s, want not found", s, c)
		}
	}
	custom := Code("EBMS:4001")
	if custom.Known() || custom.ShortDescription() != "" || custom.Severity() != SeverityFailure || custom.Category() != "" {
		t.Errorf("custom code reports table values")
	}
}

func TestNewError(t *testing.T) {
	e := CodeEmptyMessagePartitionChannel.NewError("pr1@x", "nothing to pull")
	want := Error{
		ErrorCode: CodeEmptyMessagePartitionChannel, Severity: SeverityWarning, Category: CategoryCommunication,
		Origin: OriginEbMS, ShortDescription: "EmptyMessagePartitionChannel", RefToMessageInError: "pr1@x",
		Description: &Description{Lang: "en", Text: CodeEmptyMessagePartitionChannel.Description()}, ErrorDetail: "nothing to pull",
	}
	eq(t, "NewError", e, want)
}
