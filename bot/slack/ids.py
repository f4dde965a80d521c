"""Every action_id and callback_id the bot answers, in one place.

Button values and private_metadata carry only a connection ID; listeners
check it against Redis and the clicking user before doing anything.
"""

# Buttons in the connection's thread
ENTER_IDS = "ce_enter_ids"
ENTER_ROLE = "ce_enter_role"  # "Enter the role ARN" and "Try another role ARN"
START_OVER = "ce_start_over"
CANCEL = "ce_cancel"

# Approval message
APPROVE = "ce_approve"
REJECT = "ce_reject"

# Modals (callback_id) and their input blocks (block_id; every action_id is "value")
IDS_MODAL = "ce_ids_modal"
ROLE_MODAL = "ce_role_modal"
REJECT_MODAL = "ce_reject_modal"
ORGANIZATION_ID_BLOCK = "organization_id"
ROOT_ID_BLOCK = "root_id"
ROLE_ARN_BLOCK = "role_arn"
REGION_BLOCK = "region"
REASON_BLOCK = "reason"
INPUT_ACTION = "value"
