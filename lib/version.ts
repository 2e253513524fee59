// The one version string, reported by the agent and in netchecker_build_info.
export const VERSION = '0.1.0';
