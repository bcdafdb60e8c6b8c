// VLMRTCoreAI.swift — the Core AI side of vlmrt_coreai.h.
//
// UNTESTED: written without a Mac running macOS 27, never compiled. The
// Core AI calls (AIModel, InferenceFunction.run with MutableViews states,
// NDArray views) follow the shapes used by the public coreai-model-zoo apps
// on the macOS 27 beta; expect to adjust names when building it for real.
// The Go side and the ABI are tested against fake/fake_bridge.c instead.
//
// Build (macOS 27 SDK), from the repository root (Package.swift):
//   swift build -c release --package-path internal/coreai/bridge --product vlmrt_coreai
// then put .build/release/libvlmrt_coreai.dylib next to the vlmrt
// executable or point VLMRT_COREAI_BRIDGE at it.
//
// Design: one handle = one decoder/vision pair with its own KV state and
// static inputs, driven through the low-level runtime (AIModel +
// InferenceFunction, one `run` per S=1 step) because the pipelined engine
// samples on the GPU and exposes no logits, which the ABI returns. Each C
// entry point blocks its (Go) thread on a detached Task: Go threads are
// never Swift concurrency threads, so the wait cannot starve the pool.

import CoreAI
import Foundation

private let abiVersion: Int32 = 1 // VLMRT_COREAI_ABI_VERSION
private let statusOK: Int32 = 0
private let statusError: Int32 = 1
private let statusInvalid: Int32 = 2
private let statusUnavailable: Int32 = 3
private let textOnlyShiftStart: Int32 = 1 << 30

private struct BridgeFailure: Error {
    let status: Int32
    let message: String
    init(_ status: Int32, _ message: String) { self.status = status; self.message = message }
}

// MARK: - plumbing shared by every entry point

/// Writes message NUL-terminated into err (at most errlen bytes, cut at a
/// UTF-8 character boundary) and returns status.
private func report(_ status: Int32, _ message: String, _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    guard let err, errlen > 0 else { return status }
    var text = Substring(message)
    while text.utf8.count > errlen - 1 { text = text.dropLast() } // whole characters only
    let bytes = Array(text.utf8)
    err.withMemoryRebound(to: UInt8.self, capacity: errlen) { dst in
        for (i, b) in bytes.enumerated() { dst[i] = b }
        dst[bytes.count] = 0
    }
    return status
}

/// Runs body, mapping thrown errors to a status and message.
private func guarded(_ err: UnsafeMutablePointer<CChar>?, _ errlen: Int, _ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return statusOK
    } catch let f as BridgeFailure {
        return report(f.status, f.message, err, errlen)
    } catch {
        return report(statusError, String(describing: error), err, errlen)
    }
}

/// Runs an async operation to completion, blocking the calling thread.
private func blocking<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, Error>?
    Task.detached {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result!.get()
}

@available(macOS 27, iOS 27, *)
private func pair(_ h: UnsafeMutableRawPointer?) throws -> Pair {
    guard let h else { throw BridgeFailure(statusInvalid, "NULL handle") }
    return Unmanaged<Pair>.fromOpaque(h).takeUnretainedValue()
}

// MARK: - NDArray helpers

@available(macOS 27, iOS 27, *)
private enum ND {
    static func descriptor(_ v: InferenceValue.Descriptor?, _ what: String) throws -> NDArrayDescriptor {
        guard case .ndArray(let d) = v else { throw BridgeFailure(statusError, "\(what): not an NDArray in the graph") }
        return d
    }

    static func make<T: BitwiseCopyable>(_ values: [T], _ d: NDArrayDescriptor) -> NDArray {
        var a = NDArray(descriptor: d)
        var view = a.mutableView(as: T.self)
        view.copyElements(fromContentsOf: values)
        return a
    }

    /// A zero-filled array of d with dynamic dimensions resolved to dynamic.
    static func zeros(_ d: NDArrayDescriptor, dynamic: Int) -> NDArray {
        var a = NDArray(descriptor: d.resolvingDynamicDimensions(d.shape.map { $0 < 0 ? dynamic : $0 }))
        zero(&a)
        return a
    }

    static func zero(_ a: inout NDArray) {
        let count = a.shape.reduce(1, *)
        switch a.scalarType {
        case .float16: a.mutableView(as: Float16.self).withUnsafeMutablePointer { p, _, _ in p.update(repeating: 0, count: count) }
        case .int32: a.mutableView(as: Int32.self).withUnsafeMutablePointer { p, _, _ in p.update(repeating: 0, count: count) }
        default: a.mutableView(as: Float.self).withUnsafeMutablePointer { p, _, _ in p.update(repeating: 0, count: count) }
        }
    }

    /// Copies n raw float16 bit patterns between an array (contiguous, as
    /// allocated here) and C memory.
    static func write(_ a: inout NDArray, from src: UnsafePointer<UInt16>, count n: Int) {
        a.mutableView(as: Float16.self).withUnsafeMutablePointer { p, _, _ in
            p.withMemoryRebound(to: UInt16.self, capacity: n) { $0.update(from: src, count: n) }
        }
    }

    static func read(_ a: NDArray, into dst: UnsafeMutablePointer<UInt16>, count n: Int) {
        a.view(as: Float16.self).withUnsafePointer { p, _, _ in
            p.withMemoryRebound(to: UInt16.self, capacity: n) { dst.update(from: $0, count: n) }
        }
    }
}

// MARK: - one opened pair

@available(macOS 27, iOS 27, *)
private final class Pair: @unchecked Sendable { // calls are serialized by the Go side
    let decoder: InferenceFunction
    let vision: InferenceFunction?
    let vocab, hidden, slots, deepstackCount, maxContext, patchCount, patchDim: Int
    let idsDesc, positionsDesc: NDArrayDescriptor
    let patchesDesc: NDArrayDescriptor?

    // Owned buffers: the four static inputs, the KV states, the logits.
    var imageEmbeds, deepstackEmbeds, shiftStart, shiftAmount: NDArray
    var keyCache, valueCache, logits: NDArray
    var length = 0

    init(decoderDir: URL, visionDir: URL?) async throws {
        let meta = try Self.metadata(decoderDir)
        let options = SpecializationOptions(preferredComputeUnitKind: .gpu) // the seed's GPU graph
        let model = try await AIModel(contentsOf: meta.asset, options: options)
        guard let fd = model.functionDescriptor(for: "main"), let fn = try model.loadFunction(named: "main") else {
            throw BridgeFailure(statusError, "\(meta.asset.path): no \"main\" function (has \(model.functionNames))")
        }
        decoder = fn
        idsDesc = try ND.descriptor(fd.inputDescriptor(of: "input_ids"), "input_ids")
        positionsDesc = try ND.descriptor(fd.inputDescriptor(of: "position_ids"), "position_ids")
        let embedsDesc = try ND.descriptor(fd.inputDescriptor(of: "image_embeds"), "image_embeds")
        let deepDesc = try ND.descriptor(fd.inputDescriptor(of: "deepstack_embeds"), "deepstack_embeds")
        let startDesc = try ND.descriptor(fd.inputDescriptor(of: "rope_shift_start"), "rope_shift_start")
        let amountDesc = try ND.descriptor(fd.inputDescriptor(of: "rope_shift_amount"), "rope_shift_amount")
        let logitsDesc = try ND.descriptor(fd.outputDescriptor(of: "logits"), "logits")
        guard idsDesc.shape == [1, 1], embedsDesc.shape.count == 2, deepDesc.shape.count == 2,
              embedsDesc.scalarType == .float16, deepDesc.scalarType == .float16,
              logitsDesc.shape.count == 3, logitsDesc.shape[2] > 0
        else {
            throw BridgeFailure(statusError, "decoder graph is not the S=1 contract: input_ids \(idsDesc.shape), image_embeds \(embedsDesc.shape), logits \(logitsDesc.shape)")
        }
        slots = embedsDesc.shape[0]
        hidden = embedsDesc.shape[1]
        deepstackCount = deepDesc.shape[0] / slots
        vocab = logitsDesc.shape[2]
        if let v = meta.vocab, v != vocab {
            throw BridgeFailure(statusError, "metadata.json vocab_size \(v) but the graph's logits are \(vocab) wide")
        }
        maxContext = meta.maxContext
        imageEmbeds = ND.zeros(embedsDesc, dynamic: 0)
        deepstackEmbeds = ND.zeros(deepDesc, dynamic: 0)
        shiftStart = ND.make([textOnlyShiftStart], startDesc)
        shiftAmount = ND.make([Int32(0)], amountDesc)
        keyCache = ND.zeros(try ND.descriptor(fd.stateDescriptor(of: "keyCache"), "keyCache"), dynamic: maxContext)
        valueCache = ND.zeros(try ND.descriptor(fd.stateDescriptor(of: "valueCache"), "valueCache"), dynamic: maxContext)
        logits = ND.zeros(logitsDesc, dynamic: 1)

        if let visionDir {
            let asset = try Self.visionAsset(visionDir)
            let vm = try await AIModel(contentsOf: asset, options: options)
            guard let name = vm.functionNames.first, let vd = vm.functionDescriptor(for: name),
                  let vf = try vm.loadFunction(named: name)
            else { throw BridgeFailure(statusError, "\(asset.path): no function") }
            let pd = try ND.descriptor(vd.inputDescriptor(of: "patches"), "patches")
            guard pd.shape.count == 2, pd.shape[0] == 4 * slots, pd.scalarType == .float16 else {
                throw BridgeFailure(statusError, "vision patches \(pd.shape) \(pd.scalarType) do not feed \(slots) image tokens")
            }
            vision = vf
            patchesDesc = pd
            patchCount = pd.shape[0]
            patchDim = pd.shape[1]
        } else {
            vision = nil
            patchesDesc = nil
            patchCount = 0
            patchDim = 0
        }
    }

    /// metadata.json: the main asset (with the .aimodelc fallback), sizes.
    static func metadata(_ dir: URL) throws -> (asset: URL, vocab: Int?, maxContext: Int) {
        let url = dir.appendingPathComponent("metadata.json")
        guard let data = try? Data(contentsOf: url),
              let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let assets = json["assets"] as? [String: Any], let main = assets["main"] as? String,
              let language = json["language"] as? [String: Any],
              let maxContext = language["max_context_length"] as? Int
        else { throw BridgeFailure(statusError, "\(url.path): not a LanguageBundle metadata.json (assets.main, language.max_context_length)") }
        var asset = dir.appendingPathComponent(main)
        if !FileManager.default.fileExists(atPath: asset.path), asset.pathExtension == "aimodel" {
            asset = asset.deletingPathExtension().appendingPathExtension("aimodelc")
        }
        return (asset, language["vocab_size"] as? Int, maxContext)
    }

    /// The vision bundle is a bare folder holding one .aimodel (or .aimodelc).
    static func visionAsset(_ dir: URL) throws -> URL {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        for ext in ["aimodel", "aimodelc"] {
            if let n = names.sorted().first(where: { ($0 as NSString).pathExtension == ext }) {
                return dir.appendingPathComponent(n)
            }
        }
        throw BridgeFailure(statusError, "\(dir.path): no .aimodel in the vision bundle")
    }

    func encode(patches: [UInt16]) async throws {
        guard let vision, let patchesDesc else { throw BridgeFailure(statusError, "no vision bundle was opened") }
        var input = NDArray(descriptor: patchesDesc)
        patches.withUnsafeBufferPointer { ND.write(&input, from: $0.baseAddress!, count: patches.count) }
        var outputs = try await vision.run(inputs: ["patches": input])
        guard let emb = outputs.remove("image_embeds")?.ndArray, let deep = outputs.remove("deepstack_embeds")?.ndArray else {
            throw BridgeFailure(statusError, "vision graph: no image_embeds / deepstack_embeds output")
        }
        var e = [UInt16](repeating: 0, count: slots * hidden)
        var d = [UInt16](repeating: 0, count: deepstackCount * slots * hidden)
        e.withUnsafeMutableBufferPointer { ND.read(emb, into: $0.baseAddress!, count: $0.count) }
        d.withUnsafeMutableBufferPointer { ND.read(deep, into: $0.baseAddress!, count: $0.count) }
        e.withUnsafeBufferPointer { ND.write(&imageEmbeds, from: $0.baseAddress!, count: $0.count) }
        d.withUnsafeBufferPointer { ND.write(&deepstackEmbeds, from: $0.baseAddress!, count: $0.count) }
    }

    /// One S=1 step; returns the logits as float16 bit patterns.
    func step(token: Int32, position: Int) async throws -> [UInt16] {
        guard position == length else { throw BridgeFailure(statusInvalid, "position \(position) but the cache holds \(length) tokens") }
        guard position < maxContext else { throw BridgeFailure(statusError, "KV cache full (\(maxContext))") }
        let inputs: [String: NDArray] = [
            "input_ids": ND.make([token], idsDesc),
            "position_ids": ND.make((0...position).map { Int32($0) }, positionsDesc.resolvingDynamicDimensions([1, position + 1])),
            "image_embeds": imageEmbeds, "deepstack_embeds": deepstackEmbeds,
            "rope_shift_start": shiftStart, "rope_shift_amount": shiftAmount,
        ]
        // MutableViews borrow their arrays up to `run`: move the states into
        // locals for the call and back afterwards.
        var kc = keyCache, vc = valueCache, out = logits
        var states = InferenceFunction.MutableViews()
        states.insert(&kc, for: "keyCache")
        states.insert(&vc, for: "valueCache")
        var outputs = InferenceFunction.MutableViews()
        outputs.insert(&out, for: "logits")
        _ = try await decoder.run(inputs: inputs, states: consume states, outputViews: consume outputs)
        keyCache = kc
        valueCache = vc
        logits = out
        length += 1
        var l = [UInt16](repeating: 0, count: vocab)
        l.withUnsafeMutableBufferPointer { ND.read(logits, into: $0.baseAddress!, count: $0.count) }
        return l
    }

    func reset() {
        ND.zero(&keyCache)
        ND.zero(&valueCache)
        ND.zero(&imageEmbeds)
        ND.zero(&deepstackEmbeds)
        shiftStart.mutableView(as: Int32.self).withUnsafeMutablePointer { p, _, _ in p[0] = textOnlyShiftStart }
        shiftAmount.mutableView(as: Int32.self).withUnsafeMutablePointer { p, _, _ in p[0] = 0 }
        length = 0
    }
}

// MARK: - the C ABI

@_cdecl("vlmrt_coreai_version")
public func vlmrt_coreai_version() -> Int32 { abiVersion }

@_cdecl("vlmrt_coreai_open")
public func vlmrt_coreai_open(_ decoderBundle: UnsafePointer<CChar>?, _ visionBundle: UnsafePointer<CChar>?,
                              _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                              _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    guard #available(macOS 27, iOS 27, *) else { return report(statusUnavailable, "Core AI needs macOS 27 / iOS 27", err, errlen) }
    return guarded(err, errlen) {
        guard let decoderBundle, let visionBundle, let out else { throw BridgeFailure(statusInvalid, "open: NULL argument") }
        out.pointee = nil
        let dec = URL(fileURLWithPath: String(cString: decoderBundle)) // copied: Go's strings live for this call only
        let visPath = String(cString: visionBundle)
        let vis = visPath.isEmpty ? nil : URL(fileURLWithPath: visPath)
        let p = try blocking { try await Pair(decoderDir: dec, visionDir: vis) }
        out.pointee = Unmanaged.passRetained(p).toOpaque()
    }
}

@_cdecl("vlmrt_coreai_info")
public func vlmrt_coreai_info(_ h: UnsafeMutableRawPointer?, _ info: UnsafeMutablePointer<Int32>?,
                              _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    guard #available(macOS 27, iOS 27, *) else { return report(statusUnavailable, "Core AI needs macOS 27 / iOS 27", err, errlen) }
    return guarded(err, errlen) {
        let p = try pair(h)
        guard let info else { throw BridgeFailure(statusInvalid, "info: NULL struct") }
        // vlmrt_coreai_info_t: eight int32 in this order.
        let fields = [p.vocab, p.hidden, p.slots, p.deepstackCount, p.maxContext, p.patchCount, p.patchDim, 0]
        for (i, v) in fields.enumerated() { info[i] = Int32(v) }
    }
}

@_cdecl("vlmrt_coreai_encode_image")
public func vlmrt_coreai_encode_image(_ h: UnsafeMutableRawPointer?, _ patches: UnsafePointer<UInt16>?, _ n: Int,
                                      _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    guard #available(macOS 27, iOS 27, *) else { return report(statusUnavailable, "Core AI needs macOS 27 / iOS 27", err, errlen) }
    return guarded(err, errlen) {
        let p = try pair(h)
        guard let patches, n == p.patchCount * p.patchDim, n > 0 else {
            throw BridgeFailure(statusInvalid, "patches: \(n) values, want \(p.patchCount * p.patchDim)")
        }
        let copy = Array(UnsafeBufferPointer(start: patches, count: n)) // the Go buffer is ours only during this call
        try blocking { try await p.encode(patches: copy) }
    }
}

@_cdecl("vlmrt_coreai_set_static")
public func vlmrt_coreai_set_static(_ h: UnsafeMutableRawPointer?, _ embeds: UnsafePointer<UInt16>?,
                                    _ deepstack: UnsafePointer<UInt16>?, _ start: Int32, _ amount: Int32,
                                    _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    guard #available(macOS 27, iOS 27, *) else { return report(statusUnavailable, "Core AI needs macOS 27 / iOS 27", err, errlen) }
    return guarded(err, errlen) {
        let p = try pair(h)
        guard (embeds == nil) == (deepstack == nil) else {
            throw BridgeFailure(statusInvalid, "image_embeds and deepstack: give both or neither")
        }
        if let embeds, let deepstack {
            ND.write(&p.imageEmbeds, from: embeds, count: p.slots * p.hidden)
            ND.write(&p.deepstackEmbeds, from: deepstack, count: p.deepstackCount * p.slots * p.hidden)
        }
        p.shiftStart.mutableView(as: Int32.self).withUnsafeMutablePointer { q, _, _ in q[0] = start }
        p.shiftAmount.mutableView(as: Int32.self).withUnsafeMutablePointer { q, _, _ in q[0] = amount }
    }
}

@_cdecl("vlmrt_coreai_get_static")
public func vlmrt_coreai_get_static(_ h: UnsafeMutableRawPointer?, _ embeds: UnsafeMutablePointer<UInt16>?,
                                    _ deepstack: UnsafeMutablePointer<UInt16>?, _ start: UnsafeMutablePointer<Int32>?,
                                    _ amount: UnsafeMutablePointer<Int32>?,
                                    _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    guard #available(macOS 27, iOS 27, *) else { return report(statusUnavailable, "Core AI needs macOS 27 / iOS 27", err, errlen) }
    return guarded(err, errlen) {
        let p = try pair(h)
        if let embeds { ND.read(p.imageEmbeds, into: embeds, count: p.slots * p.hidden) }
        if let deepstack { ND.read(p.deepstackEmbeds, into: deepstack, count: p.deepstackCount * p.slots * p.hidden) }
        start?.pointee = p.shiftStart.view(as: Int32.self).withUnsafePointer { q, _, _ in q[0] }
        amount?.pointee = p.shiftAmount.view(as: Int32.self).withUnsafePointer { q, _, _ in q[0] }
    }
}

@_cdecl("vlmrt_coreai_step")
public func vlmrt_coreai_step(_ h: UnsafeMutableRawPointer?, _ token: Int32, _ position: Int32,
                              _ logitsOut: UnsafeMutablePointer<Float>?, _ vocab: Int,
                              _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    guard #available(macOS 27, iOS 27, *) else { return report(statusUnavailable, "Core AI needs macOS 27 / iOS 27", err, errlen) }
    return guarded(err, errlen) {
        let p = try pair(h)
        guard let logitsOut, vocab == p.vocab else { throw BridgeFailure(statusInvalid, "logits: \(vocab) floats, want \(p.vocab)") }
        guard token >= 0, Int(token) < p.vocab + p.slots else { throw BridgeFailure(statusInvalid, "token id \(token) out of range") }
        let l = try blocking { try await p.step(token: token, position: Int(position)) }
        for i in 0..<vocab { logitsOut[i] = Float(Float16(bitPattern: l[i])) }
    }
}

@_cdecl("vlmrt_coreai_reset")
public func vlmrt_coreai_reset(_ h: UnsafeMutableRawPointer?, _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    guard #available(macOS 27, iOS 27, *) else { return report(statusUnavailable, "Core AI needs macOS 27 / iOS 27", err, errlen) }
    return guarded(err, errlen) { try pair(h).reset() }
}

@_cdecl("vlmrt_coreai_close")
public func vlmrt_coreai_close(_ h: UnsafeMutableRawPointer?, _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    guard #available(macOS 27, iOS 27, *) else { return report(statusUnavailable, "Core AI needs macOS 27 / iOS 27", err, errlen) }
    return guarded(err, errlen) {
        guard let h else { throw BridgeFailure(statusInvalid, "NULL handle") }
        Unmanaged<Pair>.fromOpaque(h).release() // frees the models, states and buffers
    }
}
