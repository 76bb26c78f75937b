/// "1 sample", "3 samples": a count and its noun, singular for exactly one. `plural` defaults to the noun with "s".
public func counted(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(n) \(n == 1 ? singular : plural ?? singular + "s")"
}
