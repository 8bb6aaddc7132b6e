{#- Trimmed text, null when empty. -#}
{% macro clean_text(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}

{#- An e-mail address trimmed and lower-cased (the form every source is matched on), null when empty. -#}
{% macro clean_email(expr) -%}
    nullif(lower(trim({{ expr }})), '')
{%- endmacro %}

{#- The host of a URL or bare domain, lower-case, without scheme, credentials, port, path or leading www. -#}
{% macro url_domain(expr) -%}
    {{ return(adapter.dispatch('url_domain', 'revloop')(expr)) }}
{%- endmacro %}

{% macro default__url_domain(expr) -%}
    nullif(
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(lower(trim({{ expr }})), '^[a-z][a-z0-9+.-]*://', ''),
                    '[/?#].*$', ''),
                '^.*@|:[0-9]*$', '', 'g'),
            '^www[.]|[.]$', '', 'g'),
        '')
{%- endmacro %}

{#- The domain part of an e-mail address, lower-case; null when the text has no single '@'. -#}
{% macro email_domain(expr) -%}
    {{ return(adapter.dispatch('email_domain', 'revloop')(expr)) }}
{%- endmacro %}

{% macro default__email_domain(expr) -%}
    case when lower(trim({{ expr }})) like '%_@_%' and lower(trim({{ expr }})) not like '%@%@%'
        then nullif({{ dbt.split_part('lower(trim(' ~ expr ~ '))', "'@'", 2) }}, '') end
{%- endmacro %}
