-- One row per email asset, from an `emails` asset stream when the warehouse has one;
-- without it, no rows (marketo__email_templates then names emails from their activities).
-- The stream holds an email's approved version and its pending draft as two rows (key
-- id + status): the approved one is what was sent, so it wins; a never-approved email
-- keeps its draft.
with emails as (
  {{ marketo_latest(marketo_select('emails', [
      ['id', 'email_template_id', 'bigint'],
      ['name', 'email_template_name', 'text'],
      ['description', 'description', 'text'],
      ['status', 'email_template_status', 'text'],
      ['url', 'email_template_url', 'text'],
      ['template', 'parent_template_id', 'bigint'],
      ['workspace', 'workspace_name', 'text'],
      ['operational', 'is_operational', 'bool'],
      ['textOnly', 'is_text_only', 'bool'],
      ['webView', 'has_web_view_enabled', 'bool'],
      ['publishToMSI', 'publish_to_msi', 'bool'],
      ['version', 'version_type', 'int'],
      ['createdAt', 'created_timestamp', 'timestamp'],
      ['updatedAt', 'updated_timestamp', 'timestamp'],
    ]), ['email_template_id'],
    "case when email_template_status = 'approved' then 0 else 1 end, updated_timestamp desc nulls last") }}
)

select
  email_template_id, email_template_name, description, email_template_status,
  email_template_url, parent_template_id, workspace_name, is_operational, is_text_only,
  has_web_view_enabled, publish_to_msi, version_type, created_timestamp, updated_timestamp
from emails
