import ArgumentParser
import QuillNN
import QuillOptim

extension CellKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
