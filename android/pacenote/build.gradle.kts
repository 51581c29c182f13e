// Builds libpacenote_ffi.so for arm64-v8a, armeabi-v7a and x86_64 with cargo-ndk, generates the
// Kotlin bindings with the workspace's own uniffi-bindgen, and packages both with the glue.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

val workspace = rootDir.parentFile
val jniOut = layout.buildDirectory.dir("rustJniLibs")
val generatedKotlin = layout.buildDirectory.dir("generated/uniffi")
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")

android {
    namespace = "dev.pacenote.android"
    compileSdk = 35
    ndkVersion = "27.2.12479018"
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].jniLibs.srcDir(jniOut)
    sourceSets["main"].kotlin.srcDir(generatedKotlin)
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin { jvmToolchain(17) }

dependencies {
    // The generated bindings call the library through JNA (the AAR has the Android natives).
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
    // The generated bindings' async calls (syncNow, preload) are suspend functions.
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
}

// cargo-ndk builds each ABI with 16 KB-aligned segments (Android 15+ devices with 16 KB pages).
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = workspace
    environment("RUSTFLAGS", "-C link-arg=-Wl,-z,max-page-size=16384")
    commandLine(
        listOf("cargo", "ndk") + abis.flatMap { listOf("-t", it) } +
            listOf("-o", jniOut.get().asFile.path, "build", "--release", "--locked", "-p", "pacenote-bindings")
    )
}

// Bindings come from a host debug build (release strips uniffi's metadata).
val uniffiBindings by tasks.registering(Exec::class) {
    workingDir = File(workspace, "bindings")
    commandLine("sh", "-c",
        "cargo build --locked -p pacenote-bindings && " +
        "CARGO_TARGET_DIR=../target/uniffi-bindgen cargo run --locked --manifest-path ../uniffi-bindgen/Cargo.toml -- " +
        "generate --language kotlin --no-format --out-dir ${generatedKotlin.get().asFile.path} " +
        "../target/debug/libpacenote_ffi.so")
}

tasks.named("preBuild") { dependsOn(cargoNdk, uniffiBindings) }
