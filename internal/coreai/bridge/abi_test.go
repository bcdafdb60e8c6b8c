package bridge

import (
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/coreai"
)

// cFunc and swiftFunc are one exported function as each side declares it.
type cFunc struct {
	name   string
	params []string // C types, whitespace normalized ("const char *")
}

type swiftFunc struct {
	cdecl, name string
	params      []string // Swift types
	result      string
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	cDecl     = regexp.MustCompile(`(?s)\n(int32_t)\s+(vlmrt_coreai_\w+)\s*\((.*?)\);`)
	cComment  = regexp.MustCompile(`(?s)/\*.*?\*/`)
	swiftDecl = regexp.MustCompile(`(?s)@_cdecl\("(\w+)"\)\s*public func (\w+)\((.*?)\)\s*->\s*(\w+)\s*\{`)
	cDefine   = regexp.MustCompile(`#define (VLMRT_COREAI_\w+) (\d+)`)
	swiftLet  = regexp.MustCompile(`private let (\w+): Int32 = (\d+)`)
)

// splitTop splits s at commas outside <> and ().
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '<', '(':
			depth++
		case '>', ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

func headerFuncs(t *testing.T) []cFunc {
	h := cComment.ReplaceAllString(read(t, "vlmrt_coreai.h"), "")
	var fs []cFunc
	for _, m := range cDecl.FindAllStringSubmatch(h, -1) {
		f := cFunc{name: m[2]}
		if strings.TrimSpace(m[3]) != "void" {
			for _, p := range splitTop(m[3]) {
				// Drop the parameter name: the last identifier.
				p = strings.Join(strings.Fields(p), " ")
				i := strings.LastIndexAny(p, " *")
				typ := strings.TrimSpace(p[:i+1])
				typ = strings.ReplaceAll(typ, " *", "*")
				f.params = append(f.params, typ)
			}
		}
		fs = append(fs, f)
	}
	return fs
}

func swiftFuncs(t *testing.T) []swiftFunc {
	var fs []swiftFunc
	for _, m := range swiftDecl.FindAllStringSubmatch(read(t, "VLMRTCoreAI.swift"), -1) {
		f := swiftFunc{cdecl: m[1], name: m[2], result: m[4]}
		for _, p := range splitTop(m[3]) {
			_, typ, ok := strings.Cut(p, ":")
			if !ok {
				t.Fatalf("%s: parameter %q has no type", f.name, p)
			}
			f.params = append(f.params, strings.TrimSpace(typ))
		}
		fs = append(fs, f)
	}
	return fs
}

// cToSwift is how Swift imports each C parameter type the ABI uses (every
// pointer nullable). size_t becomes Int rather than UInt in the Swift
// source: the same 64-bit register on every Apple platform.
var cToSwift = map[string]string{
	"int32_t":              "Int32",
	"size_t":               "Int",
	"const char*":          "UnsafePointer<CChar>?",
	"char*":                "UnsafeMutablePointer<CChar>?",
	"vlmrt_coreai_model*":  "UnsafeMutableRawPointer?",
	"vlmrt_coreai_model**": "UnsafeMutablePointer<UnsafeMutableRawPointer?>?",
	"vlmrt_coreai_info_t*": "UnsafeMutablePointer<Int32>?", // eight int32, no padding
	"const uint16_t*":      "UnsafePointer<UInt16>?",
	"uint16_t*":            "UnsafeMutablePointer<UInt16>?",
	"int32_t*":             "UnsafeMutablePointer<Int32>?",
	"float*":               "UnsafeMutablePointer<Float>?",
}

// TestSwiftExportsTheHeader: the Swift bridge exports every function of
// vlmrt_coreai.h, in header order, under its C name, with the parameter
// types Swift would import from the header and an int32_t result.
func TestSwiftExportsTheHeader(t *testing.T) {
	cs, ss := headerFuncs(t), swiftFuncs(t)
	if len(cs) != 9 {
		t.Fatalf("parsed %d functions from vlmrt_coreai.h, the ABI has 9", len(cs))
	}
	var cn, sn []string
	for _, c := range cs {
		cn = append(cn, c.name)
	}
	for _, s := range ss {
		sn = append(sn, s.cdecl)
	}
	if !slices.Equal(cn, sn) {
		t.Fatalf("header functions %v\nSwift @_cdecl exports %v", cn, sn)
	}
	for i, c := range cs {
		s := ss[i]
		if s.name != s.cdecl {
			t.Errorf("@_cdecl(%q) is on func %s: keep the Swift name equal to the C symbol", s.cdecl, s.name)
		}
		if s.result != "Int32" {
			t.Errorf("%s returns %s in Swift, int32_t in C", c.name, s.result)
		}
		if len(c.params) != len(s.params) {
			t.Errorf("%s: %d parameters in C %v, %d in Swift %v", c.name, len(c.params), c.params, len(s.params), s.params)
			continue
		}
		for j, ct := range c.params {
			want, ok := cToSwift[ct]
			if !ok {
				t.Errorf("%s parameter %d: C type %q has no Swift mapping in this test; add it", c.name, j, ct)
				continue
			}
			if s.params[j] != want {
				t.Errorf("%s parameter %d: C %s imports as %s, the Swift source has %s", c.name, j, ct, want, s.params[j])
			}
		}
	}
}

// TestSwiftConstants: the ABI version and status codes the Swift source
// returns are the header's, and the header's version is the Go side's.
func TestSwiftConstants(t *testing.T) {
	defs := map[string]int{}
	for _, m := range cDefine.FindAllStringSubmatch(read(t, "vlmrt_coreai.h"), -1) {
		defs[m[1]], _ = strconv.Atoi(m[2])
	}
	lets := map[string]int{}
	for _, m := range swiftLet.FindAllStringSubmatch(read(t, "VLMRTCoreAI.swift"), -1) {
		lets[m[1]], _ = strconv.Atoi(m[2])
	}
	for swift, c := range map[string]string{
		"abiVersion":        "VLMRT_COREAI_ABI_VERSION",
		"statusOK":          "VLMRT_COREAI_OK",
		"statusError":       "VLMRT_COREAI_ERROR",
		"statusInvalid":     "VLMRT_COREAI_INVALID",
		"statusUnavailable": "VLMRT_COREAI_UNAVAILABLE",
	} {
		cv, okc := defs[c]
		sv, oks := lets[swift]
		if !okc || !oks || cv != sv {
			t.Errorf("%s = %d (found %v) in Swift, %s = %d (found %v) in the header", swift, sv, oks, c, cv, okc)
		}
	}
	if defs["VLMRT_COREAI_ABI_VERSION"] != coreai.ABIVersion {
		t.Errorf("header ABI version %d, internal/coreai.ABIVersion %d", defs["VLMRT_COREAI_ABI_VERSION"], coreai.ABIVersion)
	}
	// The self-check hard-codes the same numbers.
	check := read(t, "check/main.swift")
	for name, c := range map[string]string{
		"statusOK": "VLMRT_COREAI_OK", "statusError": "VLMRT_COREAI_ERROR",
		"statusInvalid": "VLMRT_COREAI_INVALID", "statusUnavailable": "VLMRT_COREAI_UNAVAILABLE",
	} {
		if want := "let " + name + ": Int32 = " + strconv.Itoa(defs[c]); !strings.Contains(check, want) {
			t.Errorf("check/main.swift lacks %q (the header's %s)", want, c)
		}
	}
	if !strings.Contains(check, "vlmrt_coreai_version() == "+strconv.Itoa(coreai.ABIVersion)) {
		t.Errorf("check/main.swift does not check for ABI version %d", coreai.ABIVersion)
	}
}

// TestPackageBuildsTheLoadedLibrary: Package.swift's dynamic library
// product is the file internal/coreai loads on darwin
// (lib<product>.dylib), built from VLMRTCoreAI.swift alone, and every path
// it excludes exists (SwiftPM warns about missing ones).
func TestPackageBuildsTheLoadedLibrary(t *testing.T) {
	pkg := read(t, "Package.swift")
	m := regexp.MustCompile(`\.library\(name: "(\w+)", type: \.dynamic`).FindStringSubmatch(pkg)
	if m == nil {
		t.Fatal("Package.swift declares no dynamic library product")
	}
	lib := "lib" + m[1] + ".dylib"
	if runtime.GOOS == "darwin" && coreai.LibraryName() != lib {
		t.Errorf("Package.swift builds %s, the Go loader looks for %s", lib, coreai.LibraryName())
	}
	if lib != "libvlmrt_coreai.dylib" {
		t.Errorf("Package.swift builds %s, internal/coreai loads libvlmrt_coreai.dylib on darwin", lib)
	}
	if !strings.Contains(pkg, `sources: ["VLMRTCoreAI.swift"]`) {
		t.Error(`Package.swift: the library target must list sources: ["VLMRTCoreAI.swift"] (the directory also holds Go and C files)`)
	}
	ex := regexp.MustCompile(`exclude: \[(.*?)\]`).FindStringSubmatch(pkg)
	if ex == nil {
		t.Fatal("Package.swift: no exclude list")
	}
	for _, q := range splitTop(ex[1]) {
		name, err := strconv.Unquote(q)
		if err != nil {
			t.Fatalf("exclude entry %s: %v", q, err)
		}
		if _, err := os.Stat(name); err != nil {
			t.Errorf("Package.swift excludes %s, which does not exist", name)
		}
	}
	if _, err := os.Stat("check/main.swift"); err != nil {
		t.Errorf("the self-check executable's source: %v", err)
	}
}
