import QuillFuzzing

/// `make fuzz` runs this reader under libFuzzer; a plain build replays the inputs given as arguments.
@main struct FuzzMain {
    static func main() { fuzzMain(.ngram) }
}
