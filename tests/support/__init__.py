"""Test support shared by the test suites: Slack's side of the conversation (`slack_requests`)."""
