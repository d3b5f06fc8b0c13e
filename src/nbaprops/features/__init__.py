"""Features: definitions (names, versions, the one served version), the feature-store build, quality
scores and the one wide-frame reader."""
