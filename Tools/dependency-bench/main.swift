import QuillModels
// Quill's library benchmark workloads (as `quill bench char|handwriting|sampling` runs them), one line each:
// workload name and units per second (median of the repetitions). `qbench [all|char|prediction|synthesis|sampling]`.
let which = CommandLine.arguments.dropFirst().first ?? "all"
func report(_ name: String, _ r: BenchResult) {
    print(name, Double(r.units) / r.times.median)
}
if which == "all" || which == "char" {
    report("char", CharTrainingBenchmark(config: CharModelConfig(vocabularySize: 65), batch: 50, seq: 50, iterations: 20).run())
}
if which == "all" || which == "prediction" {
    report("prediction", HandwritingTrainingBenchmark(config: HandwritingConfig(kind: .prediction, alphabetSize: 80), batch: 32, steps: 300, textLength: 40, iterations: 6, profile: nil).run())
}
if which == "all" || which == "synthesis" {
    report("synthesis", HandwritingTrainingBenchmark(config: HandwritingConfig(kind: .synthesis, alphabetSize: 80), batch: 32, steps: 300, textLength: 40, iterations: 6, profile: nil).run())
}
if which == "all" || which == "sampling" {
    report("sampling-prediction", SamplingBenchmark(config: HandwritingConfig(kind: .prediction, alphabetSize: 80), steps: 700, repetitions: 7).run())
    report("sampling-synthesis", SamplingBenchmark(config: HandwritingConfig(kind: .synthesis, alphabetSize: 80), steps: 700, repetitions: 7).run())
}
