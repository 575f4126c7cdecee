package backend

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

type openAPIDoc struct {
	OpenAPI string `yaml:"openapi"`
	Servers []struct {
		URL string `yaml:"url"`
	} `yaml:"servers"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type   string `yaml:"type"`
			Scheme string `yaml:"scheme"`
		} `yaml:"securitySchemes"`
		Schemas map[string]struct {
			Properties map[string]struct {
				Enum []string `yaml:"enum"`
			} `yaml:"properties"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	dec := yaml.NewDecoder(bytes.NewReader(OpenAPI))
	dec.KnownFields(false)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return doc
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPIMatchesRoutes: every route is documented and every documented operation is
// routed, so the two cannot drift apart.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != apiPrefix {
		t.Fatalf("servers %+v, want one with url %s", doc.Servers, apiPrefix)
	}
	routed := map[string]bool{}
	for _, rt := range routes {
		op := strings.ToLower(rt.method) + " " + strings.TrimPrefix(rt.path, apiPrefix)
		routed[op] = true
		if !strings.HasPrefix(rt.path, apiPrefix+"/") {
			t.Errorf("route %s %s is outside %s", rt.method, rt.path, apiPrefix)
		}
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for key := range item {
			if slices.Contains(httpMethods, key) {
				documented[key+" "+path] = true
			}
		}
	}
	for op := range routed {
		if !documented[op] {
			t.Errorf("route %q is not in openapi.yaml", op)
		}
	}
	for op := range documented {
		if !routed[op] {
			t.Errorf("openapi.yaml documents %q, which is not routed", op)
		}
	}
	if s := doc.Components.SecuritySchemes["bearerAuth"]; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("bearerAuth scheme %+v", s)
	}
	if s := doc.Components.SecuritySchemes["mutualTLS"]; s.Type != "mutualTLS" {
		t.Errorf("mutualTLS scheme %+v", s)
	}
}

// TestOpenAPIProblemTypes: the Problem schema lists exactly the problem types the code uses.
func TestOpenAPIProblemTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	got := doc.Components.Schemas["Problem"].Properties["type"].Enum
	var want []string
	for _, k := range allProblemKinds {
		want = append(want, problemTypePrefix+k.slug)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Problem.type enum\n%v\nwant\n%v", got, want)
	}
	if _, ok := doc.Components.Schemas["Problem"].Properties["field"]; !ok {
		t.Error("Problem has no field member")
	}
}

// TestOpenAPIRefsResolve: every $ref points at a component that exists.
func TestOpenAPIRefsResolve(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal(OpenAPI, &root); err != nil {
		t.Fatal(err)
	}
	var find func(n *yaml.Node, path []string) *yaml.Node
	find = func(n *yaml.Node, path []string) *yaml.Node {
		if len(path) == 0 {
			return n
		}
		if n.Kind == yaml.DocumentNode {
			return find(n.Content[0], path)
		}
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == path[0] {
				return find(n.Content[i+1], path[1:])
			}
		}
		return nil
	}
	refs := 0
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "$ref" {
					refs++
					ref := n.Content[i+1].Value
					if !strings.HasPrefix(ref, "#/") || find(&root, strings.Split(ref[2:], "/")) == nil {
						t.Errorf("unresolved $ref %q (line %d)", ref, n.Content[i+1].Line)
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	if refs < 20 {
		t.Errorf("only %d $refs found: is the walk broken?", refs)
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	w := e.do(http.MethodGet, apiPrefix+"/openapi.yaml", "", nil) // no credentials needed
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/yaml" || !bytes.Equal(w.Body.Bytes(), OpenAPI) {
		t.Fatalf("%d %q, %d bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
}
