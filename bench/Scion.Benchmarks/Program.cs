using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Scion.Benchmarks -- --filter '*MatMul*'
// SCION_KERNELS=scalar|avx2|avx512 and SCION_THREADS pick the variant and the pool size being measured.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
