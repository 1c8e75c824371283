import Engine
print("blas core: \(Threads.blasCore), threads: \(Threads.count), hook: \(Threads.coretypeHook)")
