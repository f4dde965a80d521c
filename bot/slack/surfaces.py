"""Every Slack surface of the bot, in the order their listeners are registered."""

from bot.slack import approval, commands, home, operations, submissions, thread_actions

ALL = (commands, thread_actions, submissions, approval, operations, home)
