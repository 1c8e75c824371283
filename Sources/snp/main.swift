// snp: Snoopi's command line. Subcommands live one per file in this folder (Commands.swift).
import Checkpoints
import Distributed
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
// Under mpirun/srun: join the job. Rank 0 alone prints results (the others' standard output is
// dropped; their errors still show), and a rank that fails stops every rank.
do {
    let world = try Collectives.startFromEnvironment()
    if world.size > 1 {
        if arguments.first == "batch" {
            world.abort("snp batch runs its jobs as processes of its own and cannot run under mpirun; run it alone, or use --emit-slurm", code: 2)
        }
        if world.isRoot {
            FileHandle.standardError.write(Data("snp: \(world.size) ranks over \(world.transport); rank 0 prints and writes\n".utf8))
        } else {
            _ = freopen("/dev/null", "w", stdout)
        }
    }
} catch {
    FileHandle.standardError.write(Data("snp: \(error)\n".utf8))
    exit(2)
}
Collectives.finish(code: SnpCommand.main(arguments))
