{#- Split a ccxt unified symbol "BASE/QUOTE[:SETTLE]" into its asset codes (upper case).
    Dashes are accepted as the separator too ("XBT-USD"). -#}
{% macro symbol_base_code(symbol) -%}
    upper(trim(regexp_extract({{ symbol }}, '^([^/:-]+)', 1)))
{%- endmacro %}

{% macro symbol_quote_code(symbol) -%}
    nullif(upper(trim(regexp_extract({{ symbol }}, '^[^/:-]+[/-]([^/:]+)', 1))), '')
{%- endmacro %}

{% macro symbol_settle_suffix(symbol) -%}
    nullif(regexp_extract({{ symbol }}, '(:.+)$', 1), '')
{%- endmacro %}

{#- Whether a raw symbol has a base and a quote ("BASE/QUOTE[:SETTLE]" or "BASE-QUOTE"). -#}
{% macro symbol_is_parseable(symbol) -%}
    {#- a block, not a string literal: Jinja would read the backslashes as escapes -#}
    {%- set pattern -%}[^/:\s-]+[/-][^/:\s]+(:[^/:\s]+)?{%- endset -%}
    coalesce({{ matches_fully('trim(' ~ symbol ~ ')', pattern) }}, false)
{%- endmacro %}
