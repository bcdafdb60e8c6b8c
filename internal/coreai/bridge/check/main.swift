// vlmrt-coreai-check: the Core AI bridge's self-check, run by
// `make apple-check` on macOS 27 (see ../Package.swift).
//
//   swift run -c release --package-path internal/coreai/bridge vlmrt-coreai-check [DECODER_DIR VISION_DIR]
//
// Without arguments it checks what needs no model: the ABI version, the
// status codes and error messages of refused calls (NULL handle, NULL
// arguments, a missing bundle), and the error buffer's truncation rule
// (vlmrt_coreai.h: NUL-terminated, at most errlen bytes, whole UTF-8
// characters). With the seed's decoder and vision bundle directories it also
// opens them and runs the graphs: info, an image encode, S=1 steps, the
// position check, reset, and that a step after reset repeats the first one
// bit for bit. It prints one line per check and exits 1 if any failed.
//
// UNTESTED like the bridge itself: written without a Mac running macOS 27.

import Foundation
import VLMRTCoreAI

let statusOK: Int32 = 0
let statusError: Int32 = 1
let statusInvalid: Int32 = 2
let statusUnavailable: Int32 = 3

var failures = 0

func check(_ ok: Bool, _ what: String) {
    print((ok ? "ok    " : "FAIL  ") + what)
    if !ok { failures += 1 }
}

/// Calls body with a fresh error buffer of n bytes (filled with 0x7f so a
/// missing terminator shows) and returns the status and the message.
func withErr(_ n: Int = 1024, _ body: (UnsafeMutablePointer<CChar>?, Int) -> Int32) -> (Int32, String) {
    var buf = [CChar](repeating: 0x7f, count: max(n, 1))
    let st = buf.withUnsafeMutableBufferPointer { body(n == 0 ? nil : $0.baseAddress, n) }
    guard n > 0, let end = buf.firstIndex(of: 0) else { return (st, n == 0 ? "" : "<no NUL terminator>") }
    let bytes = buf[..<end].map { UInt8(bitPattern: $0) }
    return (st, String(decoding: bytes, as: UTF8.self))
}

let coreAIPresent: Bool = {
    if #available(macOS 27, *) { return true }
    return false
}()
// Below macOS 27 every entry point but version reports UNAVAILABLE first.
let refused = coreAIPresent ? statusInvalid : statusUnavailable
print("vlmrt-coreai-check: \(ProcessInfo.processInfo.operatingSystemVersionString), Core AI \(coreAIPresent ? "present" : "absent")")

// 1. The ABI version the Go side requires (internal/coreai.ABIVersion).
check(vlmrt_coreai_version() == 1, "vlmrt_coreai_version() = \(vlmrt_coreai_version()), want 1")

// 2. A NULL handle is refused with a message, never a crash.
do {
    let (st, msg) = withErr { vlmrt_coreai_reset(nil, $0, $1) }
    check(st == refused && !msg.isEmpty, "reset(NULL): status \(st) \"\(msg)\", want \(refused) and a message")
    let (st2, _) = withErr { vlmrt_coreai_info(nil, nil, $0, $1) }
    check(st2 == refused, "info(NULL, NULL): status \(st2), want \(refused)")
    let (st3, _) = withErr { vlmrt_coreai_close(nil, $0, $1) }
    check(st3 == refused, "close(NULL): status \(st3), want \(refused)")
}

// 3. The error buffer: errlen 0 with no buffer still returns the status;
// a short buffer holds errlen-1 bytes of whole characters and a NUL.
do {
    let (st, _) = withErr(0) { vlmrt_coreai_reset(nil, $0, $1) }
    check(st == refused, "reset(NULL) with no error buffer: status \(st), want \(refused)")
    let (_, full) = withErr { vlmrt_coreai_reset(nil, $0, $1) }
    let (_, cut) = withErr(6) { vlmrt_coreai_reset(nil, $0, $1) }
    check(cut.utf8.count <= 5 && full.hasPrefix(cut) && !cut.isEmpty,
          "a 6-byte error buffer holds \"\(cut)\" (\(cut.utf8.count) bytes), want at most 5 bytes starting \"\(full)\"")
}

// 4. open: NULL arguments and a missing bundle are errors naming the problem,
// and *out stays NULL.
do {
    var h: UnsafeMutableRawPointer? = UnsafeMutableRawPointer(bitPattern: 0x1)
    let (st, _) = withErr { e, n in withUnsafeMutablePointer(to: &h) { vlmrt_coreai_open(nil, "", $0, e, n) } }
    check(st == refused, "open(NULL decoder): status \(st), want \(refused)")
    let missing = "/nonexistent/vlmrt-coreai-check-\(getpid())"
    h = nil
    let (st2, msg) = withErr { e, n in withUnsafeMutablePointer(to: &h) { vlmrt_coreai_open(missing, "", $0, e, n) } }
    let want = coreAIPresent ? statusError : statusUnavailable
    check(st2 == want && h == nil && (!coreAIPresent || msg.contains(missing)),
          "open(\(missing)): status \(st2) \"\(msg)\", want \(want), no handle\(coreAIPresent ? ", the path in the message" : "")")
}

// 5. With a bundle pair: the graphs themselves.
let args = CommandLine.arguments.dropFirst()
if args.count == 2 && coreAIPresent {
    let decoder = args[args.startIndex], vision = args[args.startIndex + 1]
    var h: UnsafeMutableRawPointer?
    let (st, msg) = withErr { e, n in withUnsafeMutablePointer(to: &h) { vlmrt_coreai_open(decoder, vision, $0, e, n) } }
    check(st == statusOK && h != nil, "open(\(decoder), \(vision)): status \(st) \(msg)")
    if let h {
        var info = [Int32](repeating: -1, count: 8)
        let (ist, imsg) = withErr { e, n in info.withUnsafeMutableBufferPointer { vlmrt_coreai_info(h, $0.baseAddress, e, n) } }
        let (vocab, hidden, slots, deep, maxCtx, patches, patchDim) =
            (Int(info[0]), Int(info[1]), Int(info[2]), Int(info[3]), Int(info[4]), Int(info[5]), Int(info[6]))
        check(ist == statusOK && vocab > 0 && hidden > 0 && slots == 196 && deep == 3 && maxCtx > 0
              && patches == 784 && patchDim == 1536 && info[7] == 0,
              "info: status \(ist) \(imsg) vocab \(vocab) hidden \(hidden) image_tokens \(slots) deepstack \(deep) max_context \(maxCtx) patches \(patches)×\(patchDim)")
        if ist == statusOK && vocab > 0 && hidden > 0 && slots > 0 && deep > 0 {
            // A mid-grey image: all-zero normalized patches.
            let zeros = [UInt16](repeating: 0, count: patches * patchDim)
            let (est, emsg) = withErr { e, n in zeros.withUnsafeBufferPointer { vlmrt_coreai_encode_image(h, $0.baseAddress, $0.count, e, n) } }
            check(est == statusOK, "encode_image(zero patches): status \(est) \(emsg)")
            var embeds = [UInt16](repeating: 0, count: slots * hidden)
            var deepstack = [UInt16](repeating: 0, count: deep * slots * hidden)
            var start: Int32 = 0, amount: Int32 = 0
            let (gst, gmsg) = withErr { e, n in
                embeds.withUnsafeMutableBufferPointer { eb in
                    deepstack.withUnsafeMutableBufferPointer { db in
                        vlmrt_coreai_get_static(h, eb.baseAddress, db.baseAddress, &start, &amount, e, n)
                    }
                }
            }
            let finite = embeds.allSatisfy { Float(Float16(bitPattern: $0)).isFinite }
                && deepstack.allSatisfy { Float(Float16(bitPattern: $0)).isFinite }
            check(gst == statusOK && finite && embeds.contains { $0 & 0x7fff != 0 },
                  "get_static after encode: status \(gst) \(gmsg), embeddings finite \(finite) and not all zero, rope shift (\(start), \(amount))")

            // Text-only steps: two tokens, then reset, then the first again.
            _ = withErr { vlmrt_coreai_reset(h, $0, $1) }
            var first = [Float](repeating: .nan, count: vocab)
            var logits = [Float](repeating: .nan, count: vocab)
            let (s0, m0) = withErr { e, n in first.withUnsafeMutableBufferPointer { vlmrt_coreai_step(h, 9707, 0, $0.baseAddress, vocab, e, n) } }
            check(s0 == statusOK && first.allSatisfy { $0.isFinite }, "step(id 9707, position 0): status \(s0) \(m0), logits finite")
            let (s1, m1) = withErr { e, n in logits.withUnsafeMutableBufferPointer { vlmrt_coreai_step(h, 11, 5, $0.baseAddress, vocab, e, n) } }
            check(s1 == statusInvalid, "step at position 5 with 1 token cached: status \(s1) \"\(m1)\", want \(statusInvalid)")
            let (s2, m2) = withErr { e, n in logits.withUnsafeMutableBufferPointer { vlmrt_coreai_step(h, 11, 1, $0.baseAddress, vocab, e, n) } }
            check(s2 == statusOK && logits.allSatisfy { $0.isFinite }, "step(id 11, position 1): status \(s2) \(m2), logits finite")
            let (r, rm) = withErr { vlmrt_coreai_reset(h, $0, $1) }
            check(r == statusOK, "reset: status \(r) \(rm)")
            let (s3, m3) = withErr { e, n in logits.withUnsafeMutableBufferPointer { vlmrt_coreai_step(h, 9707, 0, $0.baseAddress, vocab, e, n) } }
            let same = zip(first, logits).allSatisfy { $0.bitPattern == $1.bitPattern }
            check(s3 == statusOK && same, "step after reset repeats the first step bit for bit: status \(s3) \(m3), equal \(same)")
            if let best = first.indices.max(by: { first[$0] < first[$1] }) {
                print("      first step's argmax: id \(best), logit \(first[best])")
            }
        }
        let (cst, cmsg) = withErr { vlmrt_coreai_close(h, $0, $1) }
        check(cst == statusOK, "close: status \(cst) \(cmsg)")
    }
} else if args.count == 2 {
    print("skip  the bundle pair checks: Core AI needs macOS 27")
} else if !args.isEmpty {
    print("usage: vlmrt-coreai-check [DECODER_BUNDLE_DIR VISION_BUNDLE_DIR]")
    exit(2)
} else {
    print("skip  the bundle pair checks: no DECODER_DIR VISION_DIR given")
}

print(failures == 0 ? "vlmrt-coreai-check: all checks passed" : "vlmrt-coreai-check: \(failures) check(s) FAILED")
exit(failures == 0 ? 0 : 1)
