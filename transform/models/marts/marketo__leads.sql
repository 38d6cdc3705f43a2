-- One row per lead Marketo holds now, with its email engagement.
with leads as (

  select * from {{ ref('stg_marketo__leads') }}

), stats as (

  {{ marketo_email_stats(ref('stg_marketo__email_activities'), 'lead_id') }}

)

select
  leads.lead_id, leads.created_timestamp, leads.updated_timestamp, leads.email,
  leads.first_name, leads.last_name, leads.title, leads.phone, leads.main_phone,
  leads.mobile_phone, leads.company, leads.inferred_company, leads.industry, leads.address,
  leads.city, leads.state, leads.country, leads.postal_code, leads.billing_street,
  leads.billing_city, leads.billing_state, leads.billing_country, leads.billing_postal_code,
  leads.inferred_city, leads.inferred_state_region, leads.inferred_country,
  leads.inferred_postal_code, leads.inferred_phone_area_code, leads.anonymous_ip,
  leads.lead_status, leads.lead_source, leads.original_source_type, leads.lead_score,
  leads.behavior_score, leads.rating, leads.is_unsubscribed, leads.is_email_invalid,
  leads.do_not_call, leads.is_customer, leads.acquisition_program_id, leads.crm_contact_id,
  leads.external_company_id, leads.external_sales_person_id,
  {{ marketo_email_stat_columns('stats') }}
from leads
left join stats
  on leads.lead_id = stats.lead_id
