"""The signals of a prompt injection, by language (English, Spanish, German, French): chat-template role markers,
*strong* patterns (enough on their own) and *weak* ones (words a form or a memo can also use). How they are combined
into flagged sentences is `assistant/prompting/injection.py`."""

from __future__ import annotations

import re


def _compile(*sources: str) -> tuple[re.Pattern[str], ...]:
    """Patterns are written with plain spaces for readability; a space matches any run of whitespace (a wrapped
    line included)."""
    return tuple(re.compile(source.replace(" ", r"\s+"), re.IGNORECASE | re.MULTILINE) for source in sources)


# At the start of a clause: imperatives such as "ignora" or "antworte" are also statements ("el sistema ignora…",
# "ich antworte…") elsewhere in a sentence.
_START = r"(?:^|(?<=[.!?:;,|¡¿\"'“„«(\[\-–—]))\s*"
# The fixed reply of "answer every question with …": a quoted text or "exactly". A quote followed by "or" is a form's
# choice of answers ("answer each question with 'Yes' or 'No'").
_REPLY = (
    r"(?:\s*:)?\s*(?:(?:exactly|precisely|nothing\s+but|exactamente|literalmente|genau|exakt|wörtlich|exactement)\b"
    r"|[\"“‘«„'][^\"“”‘’«»„'\n]{1,200}[\"”’»“'](?!\s*(?:or|o|u|oder|ou)\b))"
)

# What follows "system:" or "new instructions:" when it speaks to the assistant, not to a reader of a form.
_ADDRESSING_EN = (
    r"(?:you\b|ignore|disregard|forget|from\s+now|new\s+instructions|answer|respond|reply|always|never|do\s+not"
    r"|the\s+assistant|AI\b)"
)

# -- chat templates and role markers (no language) ------------------------------------------------------------------

ROLE_MARKERS = _compile(
    r"<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|eot_id)\|>",
    r"\[/?INST\]",
    r"<</?SYS>>",
    _START + r"#{2,}\s*(?:Instruction|System|System\s+prompt)\s*(?::|$)",
    _START + r"(?:system|developer|assistant)(?:\s+(?:prompt|message))?\s*:\s*" + _ADDRESSING_EN,
)

# -- English --------------------------------------------------------------------------------------------------------

_AI_EN = (
    r"(?:(?:AI|A\.I\.)(?: (?:assistant|model|agent|chatbot|(?:large )?language model))?"
    r"|LLM|GPT|ChatGPT|chatbot|(?:large )?language model)"  # not Claude or Gemini: people and firms bear those names
)
_EARLIER_INSTRUCTIONS_EN = (
    r"(?:(?:(?:all|any) (?:of )?)?(?:the |your |my |these |those )?"
    r"(?:(?:previous|prior|above|earlier|preceding|foregoing|former|original|initial|system|developer|other) )+"
    r"(?:instructions|prompts?|directives|guidelines|rules|commands|context|messages)"
    r"|(?:all|any) (?:of )?(?:the |your )?(?:instructions|prompts|directives|rules))"
    # A memo that withdraws earlier instructions names their topic ("… regarding parking"); an injection does not.
    r"(?! (?:regarding|concerning|about|on|for|dated|issued|sent|in) (?!(?:how|you|your)\b))"
)
_ANSWER_EVERYTHING_EN = (
    r"\b(?:answer|respond|reply) (?:to )?(?:every|all|any|each) (?:single )?"
    r"(?:questions?|quer(?:y|ies)|prompts?|requests?)"
    r"(?: (?:from|of) (?:the )?users?)? (?:with|by saying|by replying|using)"
)

_ENGLISH_STRONG = _compile(
    _START + r"(?:(?:please|kindly|now|so|and|then|also|just|simply|first|immediately|you must|you should|you will"
    r"|you need to|you have to|you are to|always),? )*(?:ignore|disregard|forget|override|bypass|discard) "
    + _EARLIER_INSTRUCTIONS_EN,
    _START + r"(?:(?:please|now|and|then|just|simply),? )*(?:ignore|disregard|forget) (?:everything|anything|all) "
    r"(?:above|before this|said before|previously said|you (?:were|have been) told|you know)\b",
    r"\byou are (?:now|no longer) (?:an? |the |my )?(?:(?:new|different|other|unrestricted|unfiltered|uncensored|free"
    r"|evil|rogue|jailbroken|helpful|special) )*(?:" + _AI_EN + r"|DAN|jailbroken|unrestricted|unfiltered)\b(?!-)",
    r"\b(?:ignore|disregard|forget|override|bypass) (?:the |your |any )?(?:system|developer) "
    r"(?:prompt|message|instructions)\b",
    r"\b(?:reveal|print|show|repeat|output|display|disclose|leak|recite|tell me|give me|write out) (?:me )?"
    r"(?:the |your )?"
    r"(?:system|initial|hidden|original|secret) prompt\b",
    r"\b(?:reveal|print|show|repeat|output|display|disclose|leak|recite) (?:me )?your "
    r"(?:(?:hidden|initial|original|secret|internal|full) )?(?:prompt|instructions|rules|guidelines)\b",
    r"\bas an? " + _AI_EN
    + r",? you (?:must|should|will|shall|are required to|have to|need to|must not|may not|cannot)\b",
    r"\b" + _AI_EN + r"s?(?: (?:assistants?|models?|systems?|agents?|tools?|bots?))?,? (?:reading|processing|"
    r"summari[sz]ing|parsing|analy[sz]ing|scanning|indexing|(?:that|who) (?:reads?|process(?:es)?)) (?:this|these)\b",
    r"\bif you are an? (?:" + _AI_EN + r"|automated assistant|bot)\b",
    r"\b(?:note|message|instructions?|attention|notice|reminder|directive) (?:to|for) (?:the |any |all |every )?"
    + _AI_EN + r"s?\b",
    r"\b(?:hey|hi|hello|dear|attention) " + _AI_EN + r"\b",
    _START + r"(?:" + _AI_EN + r"|assistant|model)\s*[,:] "
    r"(?:ignore|disregard|forget|answer|respond|reply|say|tell|print|reveal|do not|don't|never|always|you|from now)\b",
    r"\b(?:do not|don't|never) (?:tell|inform|notify|alert|warn) the user(?: (?:about|of) (?:this|these|the)"
    r"(?: above| previous| following)? (?:instructions?|message|note|prompt|change)| that you\b|\s*(?:[.!]|$))",
    r"\b(?:do not|don't|never) (?:mention|reveal|disclose|repeat) (?:this|these|the|your|any of (?:this|these)) "
    r"(?:instructions?|prompt|system prompt)\b",
    _ANSWER_EVERYTHING_EN + _REPLY,
    r"\b(?:respond|reply|answer) (?:only|exclusively|solely) (?:with|using)" + _REPLY,
    r"\bfrom now on,? (?:you (?:will|must|shall|should|are to) )?(?:(?:only|always) )?"
    r"(?:answer|respond|reply|speak|talk|write)(?: only| always)? (?:in|with|as|like|by saying)\b",
    r"\bnew instructions\s*:\s*" + _ADDRESSING_EN,
)
_ENGLISH_WEAK = _compile(
    r"\byou are now (?:in (?:\S+ ){0,2}mode|an? |the |my |called|named|known as|acting as|operating as|playing"
    r"|free|unrestricted|jailbroken|DAN\b)",
    r"\byou are no longer (?:an? |bound|restricted|limited|required to follow)",
    r"\bfrom now on,? (?:you are\b|(?:you )?(?:(?:will|must|should|shall|are to) )?(?:(?:always|only) )?"
    r"(?:answer|respond|reply|act|behave|pretend|say|speak|output|write|ignore|refuse)\b)",
    _ANSWER_EVERYTHING_EN + r"\b",
    r"\b(?:respond|reply|answer) (?:only|exclusively|solely) (?:with|using)\b",
    r"\bnew instructions\s*:",
    r"\b(?:do not|don't|never) (?:tell|inform|notify|alert) the user\b",
    r"\b(?:tell|inform) the user that\b",
    r"\b(?:system prompt|system override|developer mode|maintenance mode|jailbreak|admin(?:istrator)? override)\b",
)

# -- Spanish --------------------------------------------------------------------------------------------------------

_AI_ES = r"(?:IA|inteligencia artificial|LLM|chatbot|modelos? de lenguaje|asistentes? de IA)"
_EARLIER_INSTRUCTIONS_ES = (
    r"(?:(?:(?:todas|cualquiera) (?:de )?)?(?:las |tus |sus |estas )?(?:instrucciones|indicaciones|órdenes|ordenes"
    r"|directrices|reglas|normas) "
    r"(?:anteriores|previas|precedentes|de arriba|del sistema|originales|iniciales|recibidas)"
    r"|todas (?:las |tus |sus )(?:instrucciones|indicaciones|órdenes|directrices))"
)
_ANSWER_EVERYTHING_ES = (
    _START + r"(?:responde|responda|respondan|contesta|conteste|contesten) (?:a )?(?:todas las|cada|cualquier) "
    r"(?:preguntas?|consultas?|solicitudes|mensajes?) (?:con|diciendo)"
)

_SPANISH_STRONG = _compile(
    _START + r"(?:(?:por favor|ahora|y|entonces|también|simplemente|debes|tienes que|deberás),? )*"
    r"(?:ignora|ignore|ignorad|ignoren|ignorar|olvida|olvide|olvidad|olviden|olvidar|descarta|descarte|descarten"
    r"|descartar|omite|omita|omitan|omitir|(?:haz|haga|hagan|hacer) caso omiso (?:a|de)|no hagas caso (?:a|de)) "
    + _EARLIER_INSTRUCTIONS_ES,
    r"\b(?:ahora|a partir de ahora|desde ahora|de ahora en adelante),? eres (?:una? )?(?:\S+ )?(?:" + _AI_ES
    + r"|DAN|sin restricciones|sin filtros|sin censura)\b(?!-)",
    _START + r"(?:ignora|ignore|olvida|olvide|olvidad|olviden) todo lo (?:anterior|que te (?:han|hayan) dicho)\b",
    r"\b(?:ignora|ignore|olvida|olvide) (?:el |tu |su )?(?:prompt|mensaje|indicador) (?:del|de) sistema\b",
    _START + r"(?:muestra|muestre|muéstrame|revela|revele|revélame|imprime|imprima|repite|repita|dime|dame|escribe) "
    r"(?:tu|su|el) (?:prompt|mensaje) (?:del sistema|de sistema|inicial|oculto)\b",
    _START + r"(?:muestra|muéstrame|revela|revélame|imprime|repite|dime|dame) tus instrucciones\b",
    r"\bcomo (?:una? )?(?:IA|inteligencia artificial|modelo de lenguaje|asistente de IA|chatbot|LLM),? "
    r"(?:debes|tienes que|deberás|no debes|no puedes)\b",
    r"\b(?:asistentes?|modelos?|sistemas?|agentes?) de (?:IA|inteligencia artificial|lenguaje),? que "
    r"(?:lean|lea|leen|lee|procese|procesen|procesa|procesan|analice|analicen|resuma|resuman) "
    r"(?:esto|este|esta|estos|estas)\b",
    r"\b(?:IA|LLM)s? que (?:lean|lea|lee|leen) (?:esto|este|esta)\b",
    r"\bsi eres (?:una IA|una inteligencia artificial|un modelo de lenguaje|un asistente de IA|un chatbot|un LLM)\b",
    r"\b(?:nota|mensaje|instrucciones?|aviso|atención) (?:para|a) (?:el |la |los |las |cualquier )?" + _AI_ES + r"\b",
    r"\bno (?:le )?(?:digas|menciones|reveles) (?:al usuario )?(?:estas|las|tus) instrucciones\b",
    _ANSWER_EVERYTHING_ES + _REPLY,
)
_SPANISH_WEAK = _compile(
    r"\b(?:ahora|a partir de ahora|desde ahora|de ahora en adelante),? eres\b",
    r"\b(?:ahora )?estás en modo\b",
    r"\b(?:a partir de ahora|desde ahora|de ahora en adelante),? (?:responde|contesta|responderás|contestarás"
    r"|debes responder|di|actúa|actuarás)\b",
    _ANSWER_EVERYTHING_ES + r"\b",
    _START + r"(?:responde|contesta|responda|conteste) (?:únicamente|solamente|solo|sólo) con\b",
    r"\bnuevas instrucciones\s*:",
    r"\bno (?:le )?(?:digas|diga|cuentes|informes|menciones|reveles) (?:nada )?(?:de esto )?al usuario\b",
    r"\bmodo (?:de )?(?:mantenimiento|desarrollador|administrador|depuración)\b",
)

# -- German ---------------------------------------------------------------------------------------------------------

_AI_DE = r"(?:KI|KIs|KI-Assistent(?:en)?|KI-Systeme?|KI-Modelle?|Sprachmodelle?|Chatbots?|LLMs?)"
_EARLIER_INSTRUCTIONS_DE = (
    r"(?:(?:alle |sämtliche )?(?:die |deine |Ihre |eure )?(?:bisherigen|vorherigen|vorigen|obigen|vorangegangenen"
    r"|vorhergehenden|früheren|vorstehenden|ursprünglichen|anderen) (?:Anweisungen|Instruktionen|Befehle|Vorgaben"
    r"|Regeln|Anordnungen|Prompts?)"
    r"|(?:alle|sämtliche) (?:deine |Ihre )?(?:Anweisungen|Instruktionen|Befehle|Vorgaben)"
    r"|(?:den |deinen |Ihren )?System-?(?:prompt|anweisungen))"
)
_ANSWER_EVERYTHING_DE = (
    _START + r"(?:antworte|antwortet|beantworte|beantwortet|antworten Sie|beantworten Sie) (?:auf )?(?:jede|alle"
    r"|jegliche) (?:Fragen?|Anfragen?|Nachrichten?) (?:(?:nur|ausschließlich|immer) )?mit"
)

_GERMAN_STRONG = _compile(
    _START + r"(?:(?:bitte|jetzt|nun|und|dann|sofort|du musst|du sollst),? )*(?:ignoriere|ignorier|ignoriert"
    r"|ignorieren Sie|vergiss|vergesst|vergessen Sie|missachte|missachtet|missachten Sie|verwirf|verwerfen Sie) "
    + _EARLIER_INSTRUCTIONS_DE,
    r"\bdu bist (?:jetzt|nun|ab sofort|ab jetzt|von nun an) (?:eine? )?(?:\S+ )?(?:" + _AI_DE
    + r"|DAN|ohne Einschränkungen|ohne Filter|ohne Zensur)\b(?!-)",
    _START + r"(?:vergiss|vergessen Sie|ignoriere|ignorieren Sie) alles "
    r"(?:bisherige|vorherige|davor|oben Gesagte|was (?:dir|Ihnen) gesagt wurde)",
    r"\b(?:gib|zeige|zeig|nenne|verrate|wiederhole|drucke)(?: mir)? (?:deinen |den )?System-?prompt\b",
    r"\b(?:gib|zeige|zeig|nenne|verrate|wiederhole)(?: mir)? deine (?:(?:ursprünglichen|geheimen|versteckten) )?"
    r"(?:Anweisungen|Instruktionen)\b",
    r"\bals (?:KI|künstliche Intelligenz|Sprachmodell|KI-Assistent|KI-Modell|Chatbot),? "
    r"(?:musst|sollst|darfst|wirst) du\b",
    r"\b" + _AI_DE + r",? (?:die|der|welche) (?:dies|diese|das|diesen|dieses) (?:\S+ )?(?:lesen|liest|verarbeiten"
    r"|verarbeitet|zusammenfassen|zusammenfasst|analysieren|analysiert)\b",
    r"\bwenn du (?:eine KI|ein Sprachmodell|ein KI-Assistent|ein Chatbot|ein LLM) bist\b",
    r"\b(?:Hinweis|Nachricht|Anweisungen?|Achtung) (?:an|für) (?:die |den |das |alle |jede )?" + _AI_DE + r"\b",
    r"\b(?:sag|sage|erzähl|erzähle|verrate)(?: es)? (?:dem|den) (?:Nutzer|Benutzer|Anwender)n? nichts? (?:von|über) "
    r"(?:diesen|dieser|den|diese) (?:Anweisungen?|Nachricht)\b",
    _ANSWER_EVERYTHING_DE + _REPLY,
)
_GERMAN_WEAK = _compile(
    r"\bdu bist (?:jetzt|nun|ab sofort|ab jetzt|von nun an) (?:ein|eine|im|in|der|die)\b",
    r"\b(?:ab jetzt|ab sofort|von nun an),? "
    r"(?:(?:antwortest|beantwortest|sagst|bist|gibst|musst) du|antworte|sage|sag)\b",
    _ANSWER_EVERYTHING_DE + r"\b",
    _START + r"antworte (?:nur|ausschließlich|immer) mit\b",
    r"\bneue Anweisungen\s*:",
    r"\b(?:sag|sage|erzähl|erzähle|verrate)(?: es)? (?:dem|den) (?:Nutzer|Benutzer|Anwender)n? nicht",
    r"\b(?:Wartungsmodus|Entwicklermodus|Administratormodus)\b",
)

# -- French ---------------------------------------------------------------------------------------------------------

_AI_FR = r"(?:IA|intelligence artificielle|LLM|chatbots?|modèles? de langage|assistants? (?:IA|d'IA))"
_EARLIER_INSTRUCTIONS_FR = (
    r"(?:(?:(?:de |d')?toutes )?(?:les |tes |vos |des |ces )?(?:instructions|consignes|directives|règles|ordres"
    r"|indications) (?:précédentes|antérieures|ci-dessus|préalables|d'origine|initiales|du système|reçues)"
    r"|(?:de )?toutes (?:les |tes |vos )(?:instructions|consignes|directives|indications))"
)
_ANSWER_EVERYTHING_FR = (
    _START + r"(?:réponds|répondez|répondre) (?:à )?(?:toutes les|chaque|n'importe quelle) "
    r"(?:questions?|demandes?|requêtes?|messages?) (?:par|avec|en disant)"
)

_FRENCH_STRONG = _compile(
    _START + r"(?:(?:veuillez|maintenant|et|alors|désormais|tu dois|vous devez|s'il te plaît|s'il vous plaît),? "
    r"|merci d')*"
    r"(?:ignore|ignorez|ignorer|oublie|oubliez|oublier|ne tiens pas compte|ne tenez pas compte|fais abstraction"
    r"|faites abstraction) " + _EARLIER_INSTRUCTIONS_FR,
    r"\btu es (?:maintenant|désormais|à présent|dorénavant) (?:une? )?(?:\S+ )?(?:" + _AI_FR
    + r"|DAN|sans restrictions?|sans filtres?|sans censure)\b(?!-)",
    _START + r"(?:ignore|ignorez|oublie|oubliez) tout ce qui (?:précède|a été dit)",
    r"\b(?:affiche|affichez|montre|montrez|révèle|révélez|répète|répétez|donne-moi|donnez-moi|écris|écrivez"
    r"|imprime|imprimez) (?:ton|votre|le) (?:prompt|message|invite) "
    r"(?:système|du système|initial|d'origine|caché)\b",
    r"\b(?:affiche|montre|révèle|répète|donne-moi|écris|imprime) tes (?:instructions|consignes)\b",
    r"\ben tant qu'(?:IA|intelligence artificielle|assistant IA|assistant d'IA|modèle de langage|LLM|chatbot),? "
    r"(?:tu dois|vous devez|tu ne dois|vous ne devez)\b",
    r"\b(?:assistants?|modèles?|systèmes?|agents?) (?:d'|de )?(?:IA|intelligence artificielle|langage),? qui "
    r"(?:lis|lit|lisent|lisez|traite|traitent|traitez|analyse|analysent|résume|résument) "
    r"(?:ceci|ce |cet |cette |ces )",
    r"\b(?:IA|LLM)s? qui (?:lis|lit|lisent|lisez) (?:ceci|ce |cet |cette )",
    r"\bsi (?:tu es|vous êtes) (?:une IA|une intelligence artificielle|un modèle de langage|un assistant IA"
    r"|un assistant d'IA|un chatbot|un LLM)\b",
    r"\b(?:note|message|instructions?|avis|attention) (?:pour|à|aux|à l'attention de|à l'intention de) "
    r"(?:l'|les |la |le |tout |toute )?" + _AI_FR + r"\b",
    r"\bne (?:dis|dites|révèle|révélez|mentionne|mentionnez) (?:pas|jamais) (?:ces|les|tes|vos) instructions\b",
    _ANSWER_EVERYTHING_FR + _REPLY,
)
_FRENCH_WEAK = _compile(
    r"\btu es (?:maintenant|désormais|à présent|dorénavant) (?:un|une|en mode|le|la|mon|ma)\b",
    r"\bvous êtes (?:maintenant|désormais|à présent) en mode\b",
    r"\b(?:à partir de maintenant|désormais|dorénavant),? "
    r"(?:réponds|répondez|tu réponds|tu répondras|vous répondrez|dis|dites|agis|agissez)\b",
    _ANSWER_EVERYTHING_FR + r"\b",
    _START + r"(?:réponds|répondez) (?:uniquement|seulement|toujours) (?:par|avec)\b",
    r"\bnouvelles instructions\s*:",
    r"\bne (?:le |lui )?(?:dis|dites|révèle|révélez|mentionne|mentionnez) (?:rien|pas|jamais) "
    r"(?:de (?:ceci|cela) )?à l'utilisateur\b",
    r"\bmode (?:maintenance|développeur|administrateur|débogage)\b",
)

STRONG = _ENGLISH_STRONG + _SPANISH_STRONG + _GERMAN_STRONG + _FRENCH_STRONG
WEAK = _ENGLISH_WEAK + _SPANISH_WEAK + _GERMAN_WEAK + _FRENCH_WEAK

__all__ = ["ROLE_MARKERS", "STRONG", "WEAK"]
