import Checkpoints
import Foundation
import Testing
@Test func zzDebugMessages() throws {
    try withTemporaryFolder { folder throws in
        let path = folder + "/t.h5"
        let whole = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("h5py_types.h5")))
        for n in [100, 2048, 9000] {
            try whole.prefix(n).write(to: URL(fileURLWithPath: path))
            do { _ = try Checkpoint.load(path) } catch { print("MSG", error) }
        }
        let file = try HDF5File(path: Fixtures.path("h5py_extras.h5"))
        do { _ = try file.readTensor("lzf") } catch { print("MSG", error) }
        do { _ = try file.readTensor("nope") } catch { print("MSG", error) }
    }
}
