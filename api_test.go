package vlmrt_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt"
)

// TestPublicSurfaceHasNoInternalTypes: no exported declaration of the root
// package (function signatures, struct fields, aliases, declared types of
// variables) names a type from an internal package, so `go doc` shows
// only types users can name.
func TestPublicSurfaceHasNoInternalTypes(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*ast.File{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
	}
	if len(files) == 0 {
		t.Fatal("no Go files of the root package found")
	}
	for name, f := range files {
		internal := map[string]bool{}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path, "/internal/") {
				local := path[strings.LastIndex(path, "/")+1:]
				if imp.Name != nil {
					local = imp.Name.Name
				}
				internal[local] = true
			}
		}
		check := func(what string, n ast.Node) {
			if n == nil {
				return
			}
			ast.Inspect(n, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && internal[id.Name] {
						t.Errorf("%s: %s exposes %s.%s", name, what, id.Name, sel.Sel.Name)
					}
				}
				return true
			})
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() || (d.Recv != nil && !exportedRecv(d.Recv)) {
					continue
				}
				check("func "+d.Name.Name, d.Type)
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch sp := sp.(type) {
					case *ast.TypeSpec:
						if sp.Name.IsExported() {
							checkExportedFields("type "+sp.Name.Name, sp.Type, check)
						}
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							if n.IsExported() {
								check("var "+n.Name, sp.Type)
							}
						}
					}
				}
			}
		}
	}
}

// checkExportedFields checks a type's expression, skipping unexported
// struct fields (they do not appear in go doc).
func checkExportedFields(what string, typ ast.Expr, check func(string, ast.Node)) {
	st, ok := typ.(*ast.StructType)
	if !ok {
		check(what, typ)
		return
	}
	for _, f := range st.Fields.List {
		exported := len(f.Names) == 0 // embedded
		for _, n := range f.Names {
			exported = exported || n.IsExported()
		}
		if exported {
			check(what+" field", f.Type)
		}
	}
}

func exportedRecv(fl *ast.FieldList) bool {
	for _, f := range fl.List {
		t := f.Type
		if s, ok := t.(*ast.StarExpr); ok {
			t = s.X
		}
		if id, ok := t.(*ast.Ident); ok {
			return id.IsExported()
		}
	}
	return false
}

// TestStreamEndCarriesUsage: the last token of a finished Send carries the
// finish reason and the token counts; a per-Send override applies to that
// turn only; the expert GenerateIDs on the same ids gives the same reply.
func TestStreamEndCarriesUsage(t *testing.T) {
	ctx := context.Background()
	m, err := vlmrt.Open(ctx, modelDir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	chat := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 9}))
	var toks []vlmrt.Token
	for tok, err := range chat.Send(ctx, vlmrt.User(vlmrt.Text("Name a color.")), vlmrt.WithMaxTokens(3)) {
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	last := toks[len(toks)-1]
	if !last.End || last.Usage == nil || last.FinishReason == "" {
		t.Fatalf("last token %+v: want End with a finish reason and usage", last)
	}
	for _, tok := range toks[:len(toks)-1] {
		if tok.End || tok.Usage != nil || tok.FinishReason != "" {
			t.Fatalf("token %+v before the last carries the end", tok)
		}
	}
	hist := chat.Tokens()
	if last.Usage.CompletionTokens != len(toks) || last.Usage.PromptTokens != len(hist)-len(toks) {
		t.Fatalf("usage %+v; the reply has %d tokens after a %d-token prompt", *last.Usage, len(toks), len(hist)-len(toks))
	}
	if len(toks) > 3 || (len(toks) == 3 && last.FinishReason != "length") {
		t.Fatalf("WithMaxTokens(3): %d tokens, finish %q", len(toks), last.FinishReason)
	}
	if st := chat.Stats(); st.FinishReason != last.FinishReason || st.GeneratedTokens != len(toks) {
		t.Fatalf("stats %+v disagree with the stream's end %+v", st, last)
	}

	prompt := hist[:len(hist)-len(toks)]
	var ids []int32
	resp, err := m.GenerateIDs(ctx, vlmrt.RawRequest{IDs: prompt, GenerateOptions: vlmrt.GenerateOptions{MaxTokens: 3}}, func(tok vlmrt.Token) error {
		ids = append(ids, tok.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int32, len(toks))
	for i, tok := range toks {
		want[i] = tok.ID
	}
	if !slices.Equal(ids, want) || !slices.Equal(resp.Tokens, want) {
		t.Fatalf("GenerateIDs on the chat's prompt: %v, Send gave %v", ids, want)
	}
	m.Close()
	if _, err := m.GenerateIDs(ctx, vlmrt.RawRequest{IDs: prompt}, func(vlmrt.Token) error { return nil }); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("GenerateIDs after Close: %v, want ErrClosed", err)
	}
}
