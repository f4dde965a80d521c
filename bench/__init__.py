"""`make bench`: ce-bot's Slack acks measured side by side with bare Bolt apps (see bench/README.md)."""
