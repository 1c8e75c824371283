// snp: Snoopi's command line. Subcommands live one per file in this folder (Commands.swift).
import Engine
import Foundation

BLASKernels.selectFastKernels()
exit(SnpCommand.main(Array(CommandLine.arguments.dropFirst())))
