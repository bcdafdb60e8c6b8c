// Command checkisa reads the machine code of every amd64 assembly kernel
// in a binary and checks each against the instruction set its name
// promises: a kernel named …AVX2 holds no EVEX (AVX-512) instruction and no
// VEX integer dot product (AVX-VNNI); one named …AVXVNNI no EVEX
// instruction. scripts/test-cpus.sh runs it on the kernels' test binary.
//
// Why a static check: qemu (7.2, and 10.0 alike) emulates neither AVX-512
// nor AVX-VNNI, so the avxvnni path — the avx2 path's dispatch plus the
// …AVXVNNI kernels, for Intel CPUs with AVX-VNNI and without AVX-512 —
// cannot run on an emulated CPU that faults on a stray EVEX instruction,
// the way test-cpus.sh checks the avx2 path; on this project's AVX-512
// machines such an instruction simply runs. The Go assembler picks EVEX by
// itself for some operands (registers X16–X31, masks), so the encoding,
// not the source, is what is checked. Each kernel must also show what its
// family exists for (an …AVX512 kernel an EVEX instruction, an …AVXVNNI
// kernel a VEX dot product), so a broken decoder cannot pass as clean.
//
// Instruction boundaries come from the binary's DWARF line table: the
// assembler emits one machine instruction per source line, and a kernel's
// hand-encoded instructions (BYTE $0xc4; …) are one line each. A line that
// held several instructions (an instruction macro, or instructions joined
// by ';') would be judged by its first alone; the kernels have neither
// (their only #defines are prefetch distances), which
// TestKernelSourcesOneInstructionPerLine holds. `go test -c` keeps DWARF
// (`go test` and `go run` strip it).
//
//	checkisa BINARY   the kernels of github.com/vlmrt/vlmrt/internal/kernels in BINARY (an amd64 ELF file)
package main

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

const kernelsPkg = "github.com/vlmrt/vlmrt/internal/kernels"

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: checkisa BINARY")
		os.Exit(2)
	}
	code, err := kernelCode(os.Args[1], kernelsPkg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "checkisa: reading the kernels' machine code from %s: %v\n", os.Args[1], err)
		os.Exit(2)
	}
	counts, problems := audit(code)
	for _, p := range problems {
		fmt.Println("FAIL:", p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("checkisa: %d avx2, %d avxvnni and %d avx512 kernels: no EVEX instruction outside the avx512 ones, no AVX-VNNI instruction in the avx2 ones\n",
		counts[isaAVX2], counts[isaAVXVNNI], counts[isaAVX512])
}

// audit checks every kernel against its name's instruction set and
// returns how many kernels each set has and what is wrong.
func audit(code map[string][]insn) (counts map[string]int, problems []string) {
	counts = map[string]int{}
	names := make([]string, 0, len(code))
	for name := range code {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		isa, ok := kernelISA(name)
		if !ok {
			problems = append(problems, fmt.Sprintf("assembly function %s: no instruction set in its name (…AVX2, …AVXVNNI, …AVX512, …VNNI); name it, or list it in kernelISA", name))
			continue
		}
		counts[isa]++
		var evex, vnni int
		for _, in := range code[name] {
			switch encodingOf(in.bytes) {
			case encEVEX:
				evex++
				if isa != isaAVX512 {
					problems = append(problems, fmt.Sprintf("%s (%s) line %d: EVEX instruction % x, which a CPU without AVX-512 faults on", name, isa, in.line, in.bytes))
				}
			case encVEXVNNI:
				vnni++
				if isa == isaAVX2 {
					problems = append(problems, fmt.Sprintf("%s (%s) line %d: AVX-VNNI instruction % x, which an AVX2 CPU without AVX-VNNI faults on", name, isa, in.line, in.bytes))
				}
			}
		}
		switch {
		case isa == isaAVX512 && evex == 0:
			problems = append(problems, fmt.Sprintf("%s: named for AVX-512 but no EVEX instruction found (decoder broken?)", name))
		case isa == isaAVXVNNI && vnni == 0:
			problems = append(problems, fmt.Sprintf("%s: named for AVX-VNNI but no VEX VPDPBUSD/VPDPWSSD found (decoder broken?)", name))
		}
	}
	// Every family is present: a renamed package or an unreadable symbol
	// table must not pass as "nothing to check".
	for _, isa := range []string{isaAVX2, isaAVXVNNI, isaAVX512} {
		if counts[isa] < minKernels {
			problems = append(problems, fmt.Sprintf("only %d %s kernels found (want at least %d)", counts[isa], isa, minKernels))
		}
	}
	return counts, problems
}

// minKernels is fewer kernels than each family has (the package has 9
// avxvnni kernels, 20-odd of the others).
const minKernels = 5

const (
	isaAVX2    = "avx2"    // AVX2+FMA+F16C: VEX only, no dot products
	isaAVXVNNI = "avxvnni" // VEX only; VEX VPDPBUSD/VPDPWSSD allowed
	isaAVX512  = "avx512"  // EVEX allowed (the avx512 and avx512vnni paths)
)

// kernelISA maps an assembly function to the instruction set its name
// promises.
func kernelISA(name string) (string, bool) {
	switch {
	case strings.HasSuffix(name, "AVXVNNI"):
		return isaAVXVNNI, true
	case strings.HasSuffix(name, "AVX2"):
		return isaAVX2, true
	case strings.HasSuffix(name, "AVX512"), strings.HasSuffix(name, "VNNI"):
		return isaAVX512, true
	case name == "q8q16r1x1Y": // the AVX-512 paths' one-vector kernel (asmgen/q8q16.py)
		return isaAVX512, true
	}
	return "", false
}

type insn struct {
	line  int
	bytes []byte
}

type encoding int

const (
	encOther encoding = iota
	encEVEX
	encVEXVNNI
)

// encodingOf classifies one instruction's encoding from its first bytes.
// In 64-bit mode 0x62 always begins an EVEX prefix (BOUND is invalid) and
// 0xC4/0xC5 a VEX prefix (LES/LDS are invalid). VEX.0F38 opcodes 0x50–0x53
// are VPDPBUSD, VPDPBUSDS, VPDPWSSD and VPDPWSSDS (AVX-VNNI).
func encodingOf(b []byte) encoding {
	for len(b) > 0 && isLegacyPrefix(b[0]) {
		b = b[1:]
	}
	if len(b) == 0 {
		return encOther
	}
	switch b[0] {
	case 0x62:
		return encEVEX
	case 0xc4:
		if len(b) >= 4 && b[1]&0x1f == 2 && b[3] >= 0x50 && b[3] <= 0x53 {
			return encVEXVNNI
		}
	}
	return encOther
}

func isLegacyPrefix(c byte) bool {
	switch c {
	case 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65:
		return true
	}
	return c&0xf0 == 0x40 // REX
}

// kernelCode returns the instructions of every assembly function of pkg
// in the ELF file exe, split where the DWARF line table changes line.
func kernelCode(exe, pkg string) (map[string][]insn, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	text := f.Section(".text")
	if text == nil {
		return nil, errors.New("no .text section")
	}
	lines, err := asmLineStarts(f, pkg)
	if err != nil {
		return nil, err
	}
	addrs := make([]uint64, 0, len(lines))
	for a := range lines {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i] < addrs[j] })
	out := map[string][]insn{}
	prefix, suffix := pkg+".", ".abi0"
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || !strings.HasPrefix(s.Name, prefix) || !strings.HasSuffix(s.Name, suffix) {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(s.Name, prefix), suffix)
		if strings.Contains(name, ".") || s.Size == 0 {
			continue // a Go function's ABI wrapper, not a kernel
		}
		if s.Value < text.Addr || s.Value+s.Size > text.Addr+text.Size {
			return nil, fmt.Errorf("%s lies outside .text", s.Name)
		}
		code := make([]byte, s.Size)
		if _, err := text.ReadAt(code, int64(s.Value-text.Addr)); err != nil {
			return nil, err
		}
		// The rows inside the function, rows of one source line (a
		// hand-encoded instruction's BYTEs, a prologue) merged into one.
		i := sort.Search(len(addrs), func(i int) bool { return addrs[i] >= s.Value })
		if i == len(addrs) || addrs[i] != s.Value {
			return nil, fmt.Errorf("%s: no DWARF line row at its entry", name)
		}
		type group struct {
			at   uint64
			line int
		}
		var groups []group
		for ; i < len(addrs) && addrs[i] < s.Value+s.Size; i++ {
			if n := len(groups); n == 0 || groups[n-1].line != lines[addrs[i]] {
				groups = append(groups, group{addrs[i], lines[addrs[i]]})
			}
		}
		insns := make([]insn, len(groups))
		for j, g := range groups {
			end := s.Value + s.Size
			if j+1 < len(groups) {
				end = groups[j+1].at
			}
			insns[j] = insn{line: g.line, bytes: code[g.at-s.Value : end-s.Value]}
		}
		out[name] = insns
	}
	return out, nil
}

// asmLineStarts maps each address where pkg's assembly (.s) code changes
// source line to that line.
func asmLineStarts(f *elf.File, pkg string) (map[uint64]int, error) {
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("no DWARF (built with -ldflags=-w?): %w", err)
	}
	starts := map[uint64]int{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		r.SkipChildren()
		if e.Tag != dwarf.TagCompileUnit {
			continue
		}
		if name, _ := e.Val(dwarf.AttrName).(string); name != pkg {
			continue
		}
		lr, err := d.LineReader(e)
		if err != nil || lr == nil {
			return nil, fmt.Errorf("compile unit %s: no line table: %v", pkg, err)
		}
		var le dwarf.LineEntry
		for {
			if err := lr.Next(&le); err == io.EOF {
				break
			} else if err != nil {
				return nil, err
			}
			if !le.EndSequence && le.File != nil && strings.HasSuffix(le.File.Name, ".s") {
				starts[le.Address] = le.Line
			}
		}
	}
	if len(starts) == 0 {
		return nil, fmt.Errorf("no assembly line rows for %s", pkg)
	}
	return starts, nil
}
