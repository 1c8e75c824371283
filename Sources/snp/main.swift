// snp: Snoopi's command line. Subcommands live one per file in this folder (Commands.swift).
import Checkpoints
import Engine
import Foundation

BLASKernels.selectFastKernels()
if let parent = ProcessInfo.processInfo.environment["SNP_BATCH_PARENT"].flatMap(Int32.init) {
    // This process is a batch job: it ends with its runner. Its own children (the isolated
    // HDF5 reader) have another parent, so the variable stops here.
    Interruption.endWithParent(parent)
    unsetenv("SNP_BATCH_PARENT")
}
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == isolatedReaderCommand {
    exit(isolatedRead(Array(arguments.dropFirst())))
}
// SNP_ISOLATE_HDF5=0 opens files directly (trusted files, or to measure what isolation costs).
if ProcessInfo.processInfo.environment["SNP_ISOLATE_HDF5"] != "0" { HDF5File.isolatedReader = readInChildProcess }
exit(SnpCommand.main(arguments))
