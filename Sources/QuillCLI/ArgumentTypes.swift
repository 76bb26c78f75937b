import ArgumentParser
import QuillNN
import QuillNumerics
import QuillOptim

extension CellKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension QuillGEMM.Precision: ExpressibleByArgument {}
