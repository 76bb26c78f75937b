/// Every n-gram of lengths 1…order seen in a text, as a trie of node ids with one number per node.
///
/// Node 0 is the root (the empty n-gram); node `id` ≥ 1 is the n-gram `parent(id)` followed by `token(id)`, and
/// `parent(id) < id` always (an n-gram's prefix is seen before it). The (parent, token) → id map is an open-addressing
/// hash table of 32-bit ids (linear probing, load at most 0.7); each node keeps its key (parent in the high 32 bits,
/// token in the low 32), its depth (n-gram length) and its value. Memory: 13 bytes per node for keys, depths and
/// values, and 6–12 bytes per node for the table.
struct NGramTrie {
    /// keys[id] = parent << 32 | token (keys[0], the root's, is unused).
    private(set) var keys: [UInt64] = [0]
    /// depths[id]: the n-gram's length (0 for the root).
    private(set) var depths: [UInt8] = [0]
    /// values[id]: a count, whose meaning the model decides (`NGramModel`).
    var values: [UInt32] = [0]
    /// Slots of the hash table: a node id, or 0 for an empty slot (the root is never in the table).
    private var slots: [UInt32] = [UInt32](repeating: 0, count: 1024)

    /// Nodes, the root included.
    var count: Int { keys.count }

    static func key(_ parent: UInt32, _ token: UInt32) -> UInt64 { UInt64(parent) << 32 | UInt64(token) }
    func parent(_ id: Int) -> Int { Int(keys[id] >> 32) }
    func token(_ id: Int) -> Int32 { Int32(truncatingIfNeeded: keys[id] & 0xFFFF_FFFF) }

    /// SplitMix64's finaliser: a well-mixed hash of the key, whose low bits pick the slot.
    @inline(__always) private static func hash(_ k: UInt64) -> Int {
        var x = k &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: x ^ (x >> 31))
    }

    /// The child of `parent` by `token`, or nil when that n-gram was never seen.
    @inline(__always) func child(_ parent: UInt32, _ token: UInt32) -> UInt32? {
        let k = Self.key(parent, token)
        let mask = slots.count - 1
        var s = Self.hash(k) & mask
        while true {
            let id = slots[s]
            if id == 0 { return nil }
            if keys[Int(id)] == k { return id }
            s = (s + 1) & mask
        }
    }

    /// The child of `parent` by `token`, added (with value 0) when new; `added` says which.
    /// Precondition: fewer than 2³² − 1 nodes (a text of under 67 million characters at order 64).
    @inline(__always) mutating func insert(_ parent: UInt32, _ token: UInt32) -> (id: UInt32, added: Bool) {
        let k = Self.key(parent, token)
        let mask = slots.count - 1
        var s = Self.hash(k) & mask
        while true {
            let id = slots[s]
            if id == 0 { break }
            if keys[Int(id)] == k { return (id, false) }
            s = (s + 1) & mask
        }
        let id = UInt32(keys.count)
        keys.append(k)
        depths.append(depths[Int(parent)] &+ 1)
        values.append(0)
        slots[s] = id
        if keys.count * 10 > slots.count * 7 { grow() }
        return (id, true)
    }

    /// Doubles the table and re-inserts every node.
    private mutating func grow() {
        var bigger = [UInt32](repeating: 0, count: slots.count * 2)
        let mask = bigger.count - 1
        for id in 1..<keys.count {
            var s = Self.hash(keys[id]) & mask
            while bigger[s] != 0 { s = (s + 1) & mask }
            bigger[s] = UInt32(id)
        }
        slots = bigger
    }
}
