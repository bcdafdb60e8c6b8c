package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Encodings taken from the kernels (go tool objdump, GNU as).
var (
	vexVPMOVSXBW = []byte{0xc4, 0xc2, 0x7d, 0x20, 0x00}                         // VPMOVSXBW (R8), Y0
	vexVXORPS    = []byte{0xc5, 0xfc, 0x57, 0xc0}                               // VXORPS Y0, Y0, Y0
	vexVPDPWSSD  = []byte{0xc4, 0xc2, 0x75, 0x52, 0x90, 0x20, 0x00, 0x00, 0x00} // VPDPWSSD 32(R8), Y1, Y2
	vexVPDPBUSD  = []byte{0xc4, 0xe2, 0x75, 0x50, 0xd0}                         // VPDPBUSD Y0, Y1, Y2
	evexVPXORD   = []byte{0x62, 0xa1, 0x7d, 0x00, 0xef, 0xc0}                   // VPXORD X16, X16, X16
	evexVMOVDQU  = []byte{0x62, 0x71, 0x7e, 0x48, 0x6f, 0x20}                   // VMOVDQU32 (AX), Z12
	movq         = []byte{0x48, 0x8b, 0x74, 0x24, 0x18}                         // MOVQ 0x18(SP), SI
	sseWithPfx   = []byte{0x66, 0x0f, 0xef, 0xc0}                               // PXOR X0, X0
)

func TestEncodingOf(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want encoding
	}{
		{"VEX three-byte", vexVPMOVSXBW, encOther},
		{"VEX two-byte", vexVXORPS, encOther},
		{"VEX VPDPWSSD", vexVPDPWSSD, encVEXVNNI},
		{"VEX VPDPBUSD", vexVPDPBUSD, encVEXVNNI},
		{"EVEX XMM16", evexVPXORD, encEVEX},
		{"EVEX ZMM", evexVMOVDQU, encEVEX},
		{"REX MOVQ", movq, encOther},
		{"66-prefixed SSE", sseWithPfx, encOther},
		{"empty", nil, encOther},
		{"VEX truncated", vexVPDPWSSD[:3], encOther},
		// VEX.0F38 0x20 with an 0x52 byte later is no dot product.
		{"VEX, 0x52 as a displacement", []byte{0xc4, 0xc2, 0x7d, 0x20, 0x40, 0x52}, encOther},
		// VEX.0F (map 1) 0x52 is VRSQRTPS, not VPDPWSSD.
		{"VEX.0F 0x52", []byte{0xc4, 0xe1, 0x7c, 0x52, 0xc0}, encOther},
	} {
		if got := encodingOf(c.b); got != c.want {
			t.Errorf("%s (% x): encoding %d, want %d", c.name, c.b, got, c.want)
		}
	}
}

// kernels returns a clean synthetic binary's kernels: n of each family.
func kernels(n int) map[string][]insn {
	code := map[string][]insn{}
	for i := range n {
		code[fmt.Sprintf("k%dAVX2", i)] = []insn{{1, movq}, {2, vexVPMOVSXBW}, {3, vexVXORPS}}
		code[fmt.Sprintf("k%dAVXVNNI", i)] = []insn{{1, movq}, {2, vexVPMOVSXBW}, {3, vexVPDPWSSD}}
		code[fmt.Sprintf("k%dAVX512", i)] = []insn{{1, movq}, {2, evexVMOVDQU}, {3, vexVXORPS}}
		code[fmt.Sprintf("k%dVNNI", i)] = []insn{{1, evexVPXORD}}
	}
	code["q8q16r1x1Y"] = []insn{{1, evexVMOVDQU}}
	return code
}

func TestAuditClean(t *testing.T) {
	counts, problems := audit(kernels(minKernels))
	if len(problems) > 0 {
		t.Fatalf("clean kernels reported: %q", problems)
	}
	if counts[isaAVX2] != minKernels || counts[isaAVXVNNI] != minKernels || counts[isaAVX512] != 2*minKernels+1 {
		t.Fatalf("counts %v", counts)
	}
}

func TestAuditFindsEachProblem(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(map[string][]insn)
		want   string
	}{
		{"EVEX in an avx2 kernel", func(k map[string][]insn) { k["k0AVX2"] = append(k["k0AVX2"], insn{9, evexVPXORD}) },
			"k0AVX2 (avx2) line 9: EVEX instruction"},
		{"EVEX in an avxvnni kernel", func(k map[string][]insn) { k["k1AVXVNNI"] = append(k["k1AVXVNNI"], insn{7, evexVMOVDQU}) },
			"k1AVXVNNI (avxvnni) line 7: EVEX instruction"},
		{"AVX-VNNI in an avx2 kernel", func(k map[string][]insn) { k["k2AVX2"] = append(k["k2AVX2"], insn{4, vexVPDPBUSD}) },
			"k2AVX2 (avx2) line 4: AVX-VNNI instruction"},
		{"an avx512 kernel without EVEX", func(k map[string][]insn) { k["k0AVX512"] = []insn{{1, vexVXORPS}} },
			"k0AVX512: named for AVX-512 but no EVEX"},
		{"an avxvnni kernel without a dot product", func(k map[string][]insn) { k["k0AVXVNNI"] = []insn{{1, vexVXORPS}} },
			"k0AVXVNNI: named for AVX-VNNI but no VEX"},
		{"a kernel named for no instruction set", func(k map[string][]insn) { k["dotFast"] = []insn{{1, vexVXORPS}} },
			"assembly function dotFast: no instruction set"},
		{"too few kernels of a family", func(k map[string][]insn) { delete(k, "k0AVXVNNI") },
			"only 4 avxvnni kernels found"},
	} {
		k := kernels(minKernels)
		c.change(k)
		_, problems := audit(k)
		if len(problems) != 1 || !strings.Contains(problems[0], c.want) {
			t.Errorf("%s: problems %q, want one containing %q", c.name, problems, c.want)
		}
	}
}

func TestKernelCodeBadInput(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "not-elf")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{notELF, filepath.Join(t.TempDir(), "missing")} {
		if _, err := kernelCode(path, kernelsPkg); err == nil {
			t.Errorf("kernelCode(%s): no error", path)
		}
	}
}

// TestKernelSourcesOneInstructionPerLine holds the assumption the check
// rests on: in the amd64 kernels' sources each line holds one instruction
// (or the BYTEs of one hand-encoded instruction), so a line's machine code
// is judged whole. An instruction macro or instructions joined by ';'
// would hide all but the first.
func TestKernelSourcesOneInstructionPerLine(t *testing.T) {
	files, err := filepath.Glob("../../internal/kernels/*_amd64.s")
	if err != nil || len(files) < 5 {
		t.Fatalf("kernel sources: %v, %v", files, err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			code, _, _ := strings.Cut(line, "//")
			code = strings.TrimSpace(code)
			if rest, ok := strings.CutPrefix(code, "#define"); ok {
				if fields := strings.Fields(rest); len(fields) != 2 || strings.Trim(fields[1], "0123456789") != "" {
					t.Errorf("%s:%d: a #define that is not a number: %q", f, i+1, line)
				}
				continue
			}
			parts := strings.Split(code, ";")
			if len(parts) < 2 {
				continue
			}
			for _, p := range parts {
				if p = strings.TrimSpace(p); p != "" && !strings.HasPrefix(p, "BYTE ") {
					t.Errorf("%s:%d: several instructions on one line: %q", f, i+1, line)
					break
				}
			}
		}
	}
}
