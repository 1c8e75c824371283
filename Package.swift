// swift-tools-version:6.0
// Snoopi: one-step diffusion distillation (PG-SB) and negative-prompt steering (NASA)
// on a Swift tensor engine over OpenBLAS. Layers: see Docs/architecture.md.
import PackageDescription

let package = Package(
    name: "Snoopi",
    products: [
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .library(name: "Checkpoints", targets: ["Checkpoints"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Diffusion", targets: ["Diffusion"]),
        .library(name: "Graphics", targets: ["Graphics"]),
        .library(name: "Distill", targets: ["Distill"]),
        .library(name: "Language", targets: ["Language"]),
        .executable(name: "snp", targets: ["snp"]),
        .executable(name: "snp-bench", targets: ["snp-bench"]),
    ],
    targets: [
        // C libraries, found through pkg-config; Scripts/setup installs them on Debian.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CReadline", path: "Sources/CReadline", pkgConfig: "readline",
                       providers: [.apt(["libreadline-dev"])]),
        .systemLibrary(name: "CFreeType", path: "Sources/CFreeType", pkgConfig: "freetype2",
                       providers: [.apt(["libfreetype-dev"])]),
        // CPU feature probe and process memory.
        .target(name: "CSupport", path: "Sources/CSupport"),
        // Vectorised float kernels, one clone per ISA chosen at load time; optimised in every build.
        .target(name: "CKernels", path: "Sources/CKernels",
                cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),

        .target(name: "Engine", dependencies: ["CBLAS", "CSupport", "CKernels"], path: "Sources/Engine"),
        // Beside Engine: the processes a run is spread over (one, or Open MPI's, loaded at run time).
        .target(name: "Distributed", path: "Sources/Distributed"),
        .target(name: "Checkpoints", dependencies: ["Engine", "Distributed", "CHDF5"], path: "Sources/Checkpoints"),
        .target(name: "Graphics", dependencies: ["Engine", "Distributed", "CPNG", "CFreeType"], path: "Sources/Graphics"),
        .target(name: "Models", dependencies: ["Engine", "Checkpoints"], path: "Sources/Models"),
        .target(name: "Diffusion", dependencies: ["Engine", "Distributed", "Checkpoints", "Graphics", "Models"], path: "Sources/Diffusion"),
        .target(name: "Distill", dependencies: ["Engine", "Distributed", "Checkpoints", "Models", "Diffusion"], path: "Sources/Distill"),
        .target(name: "Language", dependencies: ["Engine", "Distributed", "Checkpoints", "Models", "Graphics", "Diffusion", "Distill"], path: "Sources/Language"),
        .executableTarget(name: "snp", dependencies: ["Engine", "Distributed", "Checkpoints", "Models", "Diffusion", "Distill", "Graphics", "Language", "CReadline"], path: "Sources/snp"),
        .executableTarget(name: "snp-bench", dependencies: ["Engine", "Models", "Diffusion", "Distill", "CBLAS"], path: "Sources/snp-bench"),

        .testTarget(name: "EngineTests", dependencies: ["Engine", "CSupport"],
                    path: "Tests/EngineTests", resources: [.copy("Fixtures")]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "Engine"],
                    path: "Tests/CheckpointsTests", resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Checkpoints", "Engine"],
                    path: "Tests/ModelsTests", exclude: ["Unseen"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Models", "Engine", "Graphics", "Checkpoints"],
                    path: "Tests/DiffusionTests", resources: [.copy("Fixtures")]),
        .testTarget(name: "DistillTests", dependencies: ["Distill", "Diffusion", "Models", "Engine"], path: "Tests/DistillTests"),
        .testTarget(name: "LanguageTests", dependencies: ["Language", "Engine", "Checkpoints"],
                    path: "Tests/LanguageTests", resources: [.copy("Scripts")]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed"], path: "Tests/DistributedTests"),
        .testTarget(name: "GraphicsTests", dependencies: ["Graphics", "Engine", "CPNG"], path: "Tests/GraphicsTests"),
    ],
    swiftLanguageModes: [.v5]
)
