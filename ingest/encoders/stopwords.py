"""Small stop-word lists (after the Snowball project's lists) for the languages the sparse encoder knows well.

PyStemmer ships stemmers only. Words are written as in the language; the encoder folds accents before use.
"""

from __future__ import annotations

RAW_STOPWORDS: dict[str, str] = {
    "en": """
        a about above after again against all am an and any are as at be because been before being below between
        both but by can could did do does doing down during each few for from further had has have having he her
        here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
        now of off on once only or other our ours ourselves out over own same she should so some such than that the
        their theirs them themselves then there these they this those through to too under until up very was we
        were what when where which while who whom why will with would you your yours yourself yourselves
        """,
    "es": """
        a al algo algunas algunos ante antes como con contra cual cuando cuanto cuantos de del desde donde durante e
        el ella ellas ellos en entre era eran es esa esas ese eso esos esta estaba estado estan estar estas este esto
        estos fue fueron ha habia han hasta hay la las le les lo los mas me mi mis mucho muy nada ni no nos nosotros
        o os otra otras otro otros para pero poco por porque que quien se sea ser si sin sobre son su sus también
        tanto te tengo tiene tienen todo todos tu tus un una uno unos usted vosotros y ya yo él éste ésta qué cómo
        dónde cuál más
        """,
    "de": """
        aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes auch auf aus
        bei bin bis bist da damit dann das dass dein deine dem den der des dessen dich die dies diese dieselbe diesem
        diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines er es etwas euch euer für hat
        hatte hatten hier hin hinter ich ihm ihn ihnen ihr ihre im in ist ja jede jedem jeden jeder jedes jetzt kann
        kein keine können machen man mein meine mich mir mit muss nach nicht nichts noch nun nur ob oder ohne sehr
        sein seine sich sie sind so solche soll sollte sondern sonst über um und uns unser unter viel vom von vor
        war waren warst was weil welche welchem welchen welcher welches wenn wer werde werden wie wieder will wir
        wird wo wollen würde zu zum zur zwar zwischen
        """,
    "fr": """
        au aux avec ce ces c d dans de des du elle en et eux il ils je j l la le les leur lui m ma mais me même mes
        moi mon n ne nos notre nous on ou où par pas pour qu que qui s sa se ses son sur t ta te tes toi ton tu un
        une vos votre vous y été être avoir ai as avons avez ont est sont était étaient sera seront fait faire
        cette cet comme plus tout tous toute toutes aussi bien dont si sans sous entre
        """,
}
