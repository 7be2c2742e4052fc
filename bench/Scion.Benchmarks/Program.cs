using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Scion.Benchmarks -- --filter '*MatMul*'
// SCION_KERNELS=scalar|avx2|avx512 and SCION_THREADS pick the variant and the pool size being measured.
// `-- lora-timing [rounds]` runs the quick interleaved timing of the adapter cases instead (see LoraStepTiming).
if (args.Length > 0 && args[0] == "lora-timing") Scion.Benchmarks.LoraStepTiming.Run(args);
else BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
