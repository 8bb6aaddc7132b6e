{{ config(unique_key='message_id') }}
{{ stg_event_messages('offline') }}
