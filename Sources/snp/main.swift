// snp: Snoopi's command line. Subcommands live one per file in this folder (Commands.swift).
import Engine
import Foundation

BLASKernels.selectFastKernels()
if let parent = ProcessInfo.processInfo.environment["SNP_BATCH_PARENT"].flatMap(Int32.init) { Interruption.endWithParent(parent) }
exit(SnpCommand.main(Array(CommandLine.arguments.dropFirst())))
