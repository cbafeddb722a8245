"""Running the bot: metrics, log format, telemetry, knowledge-base reload and import."""
