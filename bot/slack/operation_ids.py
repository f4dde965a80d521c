"""The action_ids and callback_ids of the operations surfaces (/ce list, status, enable, disable,
disconnect, re-checks, App Home), beside `bot.slack.ids` (the guided connection's).

Button values carry only a connection ID (or a page number); listeners check
it against Redis and the clicking user before doing anything.
"""

LIST_NEXT = "ce_list_next"  # value: the page number to show
LIST_PREV = "ce_list_prev"
ENABLE = "ce_org_enable"  # value: connection ID
DISABLE = "ce_org_disable"
DETAILS = "ce_org_details"
DISCONNECT = "ce_org_disconnect"  # carries a confirm dialog
DISCONNECT_MODAL = "ce_org_disconnect_modal"  # /ce disconnect's confirmation; private_metadata: connection ID
RECHECK = "ce_org_recheck"
RECHECK_FAILED = "ce_org_recheck_failed"

# block_id prefixes: where a button sat, so the message can be redrawn after a click
LIST_ROW = "list"  # list:{page}:{row}
STATUS_ACTIONS = "status"
