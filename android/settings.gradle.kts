// The Pacenote Android library. Maven Central and Google's repository are not reachable on the
// project's CI machines, so this module is not built there; its Kotlin is written against the
// generated bindings (`cargo xtask kotlin-test` compiles and tests those on the JVM).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "pacenote-android"
include(":pacenote")
