"""Everything the bot itself says, in every locale the bundled knowledge base and corpus carry.

One catalog: a locale's entry must have every key of English with the same ``{placeholders}``
(a test checks). ``strings_for`` negotiates the user's locale against the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.escalation_strings import ESCALATION_STRINGS
from knowledge.locales import negotiate

CATALOG: dict[str, dict[str, Any]] = {
    "en-US": {
        "welcome_title": "Hi, I'm Insight Desk",
        "welcome_text": "Paste an error message, in any language, and I'll find the article that explains it. "
                        "Type /language followed by a code (for example /language sv) to choose my language.",
        "answer_in": "Answer in {language}",
        "fell_back": "This article isn't available in {wanted}, so here it is in {language}.",
        "helped": "This helped",
        "not_helped": "This didn't help",
        "talk_to_person": "Talk to a person",
        "change_language": "Other languages",
        "show_language": "Show in this language",
        "did_you_mean": "Did you mean one of these?",
        "not_found": "I couldn't find an article for that message. You can rephrase it, paste the exact error "
                     "text, or talk to a person.",
        "thanks": "Thanks for letting me know!",
        "sorry_not_helped": "Sorry that didn't help. Would you like to talk to a person?",
        "escalated": "I've recorded your request for the support team, with your question and what I showed you.",
        "apology": "Sorry, something went wrong on my side. Please try again in a moment.",
        "slow_down": "You're sending messages faster than I can answer. Please wait a moment and try again.",
        "language_set": "I'll answer in {language} from now on.",
        "language_unknown": "I don't know the language \"{value}\". Try one of: {choices}.",
        "language_usage": "Type /language followed by a language code, for example /language {example}.",
        "truncated": "The article continues online.",
        "language_commands": ["language", "lang"],
    },
    "zh-TW": {
        "welcome_title": "您好，我是 Insight Desk",
        "welcome_text": "請貼上任何語言的錯誤訊息，我會找出說明它的文章。輸入 /language 加上語言代碼（例如 /language sv）即可選擇我的語言。",
        "answer_in": "以{language}回答",
        "fell_back": "這篇文章沒有{wanted}版本，因此以{language}顯示。",
        "helped": "這有幫助",
        "not_helped": "這沒有幫助",
        "talk_to_person": "與專人對談",
        "change_language": "其他語言",
        "show_language": "以此語言顯示",
        "did_you_mean": "您是指下列其中一項嗎？",
        "not_found": "我找不到與這則訊息相關的文章。您可以換個說法、貼上完整的錯誤文字，或與專人對談。",
        "thanks": "感謝您的回饋！",
        "sorry_not_helped": "很抱歉沒有幫上忙。您要與專人對談嗎？",
        "escalated": "我已為支援小組記錄您的要求，包括您的問題和我提供的內容。",
        "apology": "抱歉，我這裡發生問題。請稍後再試一次。",
        "slow_down": "您傳送訊息的速度太快了。請稍候片刻再試一次。",
        "language_set": "從現在起我會以{language}回答。",
        "language_unknown": "我不認識「{value}」這個語言。請試試：{choices}。",
        "language_usage": "請輸入 /language 加上語言代碼，例如 /language {example}。",
        "truncated": "文章的其餘內容請參閱線上版本。",
        "language_commands": ["language", "lang", "語言"],
    },
    "zh-CN": {
        "welcome_title": "你好，我是 Insight Desk",
        "welcome_text": "请粘贴任何语言的错误消息，我会找到解释它的文章。输入 /language 加语言代码（例如 /language sv）即可选择我的语言。",
        "answer_in": "以{language}回答",
        "fell_back": "这篇文章没有{wanted}版本，因此以{language}显示。",
        "helped": "有帮助",
        "not_helped": "没有帮助",
        "talk_to_person": "联系人工支持",
        "change_language": "其他语言",
        "show_language": "以此语言显示",
        "did_you_mean": "你是指以下某项吗？",
        "not_found": "我找不到与此消息相关的文章。你可以换个说法、粘贴完整的错误文本，或联系人工支持。",
        "thanks": "感谢你的反馈！",
        "sorry_not_helped": "很抱歉没有帮上忙。要联系人工支持吗？",
        "escalated": "我已为支持团队记录你的请求，包括你的问题和我提供的内容。",
        "apology": "抱歉，我这边出了问题。请稍后重试。",
        "slow_down": "你发送消息的速度太快了。请稍等片刻再试。",
        "language_set": "从现在起我会以{language}回答。",
        "language_unknown": "我不认识“{value}”这种语言。请尝试：{choices}。",
        "language_usage": "请输入 /language 加语言代码，例如 /language {example}。",
        "truncated": "文章的其余内容请查看在线版本。",
        "language_commands": ["language", "lang", "语言"],
    },
    "sv-SE": {
        "welcome_title": "Hej, jag är Insight Desk",
        "welcome_text": "Klistra in ett felmeddelande, på vilket språk som helst, så hittar jag artikeln som förklarar det. "
                        "Skriv /language följt av en kod (till exempel /language en) för att välja mitt språk.",
        "answer_in": "Svar på {language}",
        "fell_back": "Artikeln finns inte på {wanted}, så här är den på {language}.",
        "helped": "Det här hjälpte",
        "not_helped": "Det här hjälpte inte",
        "talk_to_person": "Prata med en person",
        "change_language": "Andra språk",
        "show_language": "Visa på det här språket",
        "did_you_mean": "Menade du någon av dessa?",
        "not_found": "Jag hittade ingen artikel för det meddelandet. Formulera om det, klistra in den exakta "
                     "feltexten eller prata med en person.",
        "thanks": "Tack för att du berättade!",
        "sorry_not_helped": "Tyvärr hjälpte det inte. Vill du prata med en person?",
        "escalated": "Jag har registrerat din begäran för supportteamet, med din fråga och det jag visade dig.",
        "apology": "Tyvärr gick något fel hos mig. Försök igen om en stund.",
        "slow_down": "Du skickar meddelanden snabbare än jag hinner svara. Vänta en stund och försök igen.",
        "language_set": "Jag svarar på {language} från och med nu.",
        "language_unknown": "Jag känner inte till språket \"{value}\". Prova något av: {choices}.",
        "language_usage": "Skriv /language följt av en språkkod, till exempel /language {example}.",
        "truncated": "Artikeln fortsätter på webben.",
        "language_commands": ["language", "lang", "språk"],
    },
    "ko-KR": {
        "welcome_title": "안녕하세요, Insight Desk입니다",
        "welcome_text": "어떤 언어로든 오류 메시지를 붙여 넣으면 이를 설명하는 문서를 찾아 드립니다. "
                        "/language 다음에 언어 코드(예: /language sv)를 입력하면 답변 언어를 선택할 수 있습니다.",
        "answer_in": "{language}(으)로 답변",
        "fell_back": "이 문서는 {wanted}(으)로 제공되지 않아 {language}(으)로 표시합니다.",
        "helped": "도움이 되었습니다",
        "not_helped": "도움이 되지 않았습니다",
        "talk_to_person": "상담원과 대화",
        "change_language": "다른 언어",
        "show_language": "이 언어로 보기",
        "did_you_mean": "다음 중 하나를 찾으셨나요?",
        "not_found": "해당 메시지에 대한 문서를 찾지 못했습니다. 다르게 표현하거나 정확한 오류 텍스트를 붙여 넣거나 "
                     "상담원과 대화하세요.",
        "thanks": "알려 주셔서 감사합니다!",
        "sorry_not_helped": "도움이 되지 못해 죄송합니다. 상담원과 대화하시겠습니까?",
        "escalated": "질문과 제가 보여 드린 내용을 포함하여 지원 팀에 요청을 기록했습니다.",
        "apology": "죄송합니다. 문제가 발생했습니다. 잠시 후 다시 시도해 주세요.",
        "slow_down": "메시지를 너무 빠르게 보내고 있습니다. 잠시 기다린 후 다시 시도해 주세요.",
        "language_set": "지금부터 {language}(으)로 답변하겠습니다.",
        "language_unknown": "\"{value}\" 언어를 알 수 없습니다. 다음 중 하나를 사용해 보세요: {choices}.",
        "language_usage": "/language 다음에 언어 코드를 입력하세요. 예: /language {example}",
        "truncated": "문서의 나머지 내용은 온라인에서 확인하세요.",
        "language_commands": ["language", "lang", "언어"],
    },
    "cs-CZ": {
        "welcome_title": "Dobrý den, jsem Insight Desk",
        "welcome_text": "Vložte chybovou zprávu v libovolném jazyce a najdu článek, který ji vysvětluje. "
                        "Napište /language a kód jazyka (například /language en) a zvolte můj jazyk.",
        "answer_in": "Odpověď v jazyce: {language}",
        "fell_back": "Tento článek není k dispozici v jazyce {wanted}, proto ho zobrazuji v jazyce {language}.",
        "helped": "Pomohlo to",
        "not_helped": "Nepomohlo to",
        "talk_to_person": "Mluvit s člověkem",
        "change_language": "Další jazyky",
        "show_language": "Zobrazit v tomto jazyce",
        "did_you_mean": "Měli jste na mysli něco z tohoto?",
        "not_found": "K této zprávě jsem nenašel žádný článek. Zkuste ji přeformulovat, vložit přesný text chyby, "
                     "nebo mluvte s člověkem.",
        "thanks": "Děkuji za zpětnou vazbu!",
        "sorry_not_helped": "Je mi líto, že to nepomohlo. Chcete mluvit s člověkem?",
        "escalated": "Vaši žádost jsem zaznamenal pro tým podpory i s vaší otázkou a tím, co jsem vám ukázal.",
        "apology": "Omlouvám se, na mé straně se něco pokazilo. Zkuste to prosím za chvíli znovu.",
        "slow_down": "Posíláte zprávy rychleji, než stíhám odpovídat. Chvíli počkejte a zkuste to znovu.",
        "language_set": "Od teď budu odpovídat v jazyce {language}.",
        "language_unknown": "Jazyk „{value}“ neznám. Zkuste jeden z: {choices}.",
        "language_usage": "Napište /language a kód jazyka, například /language {example}.",
        "truncated": "Článek pokračuje online.",
        "language_commands": ["language", "lang", "jazyk"],
    },
    "da-DK": {
        "welcome_title": "Hej, jeg er Insight Desk",
        "welcome_text": "Indsæt en fejlmeddelelse på et hvilket som helst sprog, så finder jeg artiklen, der forklarer den. "
                        "Skriv /language efterfulgt af en kode (for eksempel /language en) for at vælge mit sprog.",
        "answer_in": "Svar på {language}",
        "fell_back": "Artiklen findes ikke på {wanted}, så her er den på {language}.",
        "helped": "Det hjalp",
        "not_helped": "Det hjalp ikke",
        "talk_to_person": "Tal med en person",
        "change_language": "Andre sprog",
        "show_language": "Vis på dette sprog",
        "did_you_mean": "Mente du en af disse?",
        "not_found": "Jeg kunne ikke finde en artikel til den meddelelse. Omformuler den, indsæt den præcise "
                     "fejltekst, eller tal med en person.",
        "thanks": "Tak for din tilbagemelding!",
        "sorry_not_helped": "Beklager, at det ikke hjalp. Vil du tale med en person?",
        "escalated": "Jeg har registreret din anmodning til supportteamet med dit spørgsmål og det, jeg viste dig.",
        "apology": "Beklager, noget gik galt hos mig. Prøv igen om lidt.",
        "slow_down": "Du sender beskeder hurtigere, end jeg kan svare. Vent et øjeblik, og prøv igen.",
        "language_set": "Jeg svarer på {language} fra nu af.",
        "language_unknown": "Jeg kender ikke sproget \"{value}\". Prøv et af: {choices}.",
        "language_usage": "Skriv /language efterfulgt af en sprogkode, for eksempel /language {example}.",
        "truncated": "Artiklen fortsætter online.",
        "language_commands": ["language", "lang", "sprog"],
    },
    "es-ES": {
        "welcome_title": "Hola, soy Insight Desk",
        "welcome_text": "Pega un mensaje de error, en cualquier idioma, y encontraré el artículo que lo explica. "
                        "Escribe /language seguido de un código (por ejemplo /language en) para elegir mi idioma.",
        "answer_in": "Respuesta en {language}",
        "fell_back": "Este artículo no está disponible en {wanted}; aquí lo tienes en {language}.",
        "helped": "Me ha ayudado",
        "not_helped": "No me ha ayudado",
        "talk_to_person": "Hablar con una persona",
        "change_language": "Otros idiomas",
        "show_language": "Mostrar en este idioma",
        "did_you_mean": "¿Te refieres a alguno de estos?",
        "not_found": "No encontré ningún artículo para ese mensaje. Puedes reformularlo, pegar el texto exacto del "
                     "error o hablar con una persona.",
        "thanks": "¡Gracias por tu opinión!",
        "sorry_not_helped": "Siento que no te haya ayudado. ¿Quieres hablar con una persona?",
        "escalated": "He registrado tu solicitud para el equipo de soporte, con tu pregunta y lo que te mostré.",
        "apology": "Lo siento, algo ha fallado por mi parte. Inténtalo de nuevo en un momento.",
        "slow_down": "Estás enviando mensajes más rápido de lo que puedo responder. Espera un momento e inténtalo de nuevo.",
        "language_set": "A partir de ahora responderé en {language}.",
        "language_unknown": "No conozco el idioma \"{value}\". Prueba uno de estos: {choices}.",
        "language_usage": "Escribe /language seguido de un código de idioma, por ejemplo /language {example}.",
        "truncated": "El artículo continúa en línea.",
        "language_commands": ["language", "lang", "idioma"],
    },
    "fi-FI": {
        "welcome_title": "Hei, olen Insight Desk",
        "welcome_text": "Liitä virheilmoitus millä tahansa kielellä, niin etsin sitä selittävän artikkelin. "
                        "Kirjoita /language ja kielikoodi (esimerkiksi /language en) valitaksesi kieleni.",
        "answer_in": "Vastaus kielellä {language}",
        "fell_back": "Artikkelia ei ole saatavilla kielellä {wanted}, joten tässä se on kielellä {language}.",
        "helped": "Tästä oli apua",
        "not_helped": "Tästä ei ollut apua",
        "talk_to_person": "Keskustele ihmisen kanssa",
        "change_language": "Muut kielet",
        "show_language": "Näytä tällä kielellä",
        "did_you_mean": "Tarkoititko jotakin näistä?",
        "not_found": "En löytänyt artikkelia tälle viestille. Muotoile se uudelleen, liitä tarkka virheteksti "
                     "tai keskustele ihmisen kanssa.",
        "thanks": "Kiitos palautteesta!",
        "sorry_not_helped": "Valitettavasti tästä ei ollut apua. Haluatko keskustella ihmisen kanssa?",
        "escalated": "Kirjasin pyyntösi tukitiimille kysymyksesi ja näyttämäni sisällön kanssa.",
        "apology": "Valitettavasti jokin meni vikaan. Yritä hetken kuluttua uudelleen.",
        "slow_down": "Lähetät viestejä nopeammin kuin ehdin vastata. Odota hetki ja yritä uudelleen.",
        "language_set": "Vastaan tästä lähtien kielellä {language}.",
        "language_unknown": "En tunne kieltä \"{value}\". Kokeile jotakin näistä: {choices}.",
        "language_usage": "Kirjoita /language ja kielikoodi, esimerkiksi /language {example}.",
        "truncated": "Artikkeli jatkuu verkossa.",
        "language_commands": ["language", "lang", "kieli"],
    },
    "id-ID": {
        "welcome_title": "Hai, saya Insight Desk",
        "welcome_text": "Tempelkan pesan kesalahan dalam bahasa apa pun, dan saya akan mencari artikel yang "
                        "menjelaskannya. Ketik /language diikuti kode bahasa (misalnya /language en) untuk memilih bahasa saya.",
        "answer_in": "Jawaban dalam {language}",
        "fell_back": "Artikel ini tidak tersedia dalam {wanted}, jadi ini versi {language}.",
        "helped": "Ini membantu",
        "not_helped": "Ini tidak membantu",
        "talk_to_person": "Bicara dengan orang",
        "change_language": "Bahasa lain",
        "show_language": "Tampilkan dalam bahasa ini",
        "did_you_mean": "Apakah maksud Anda salah satu dari ini?",
        "not_found": "Saya tidak menemukan artikel untuk pesan tersebut. Coba ubah kalimatnya, tempelkan teks "
                     "kesalahan yang persis, atau bicara dengan orang.",
        "thanks": "Terima kasih atas masukan Anda!",
        "sorry_not_helped": "Maaf, itu tidak membantu. Apakah Anda ingin berbicara dengan orang?",
        "escalated": "Saya telah mencatat permintaan Anda untuk tim dukungan, beserta pertanyaan Anda dan yang saya tampilkan.",
        "apology": "Maaf, terjadi kesalahan di pihak saya. Silakan coba lagi sebentar lagi.",
        "slow_down": "Anda mengirim pesan lebih cepat daripada yang bisa saya jawab. Tunggu sebentar lalu coba lagi.",
        "language_set": "Mulai sekarang saya akan menjawab dalam {language}.",
        "language_unknown": "Saya tidak mengenal bahasa \"{value}\". Coba salah satu dari: {choices}.",
        "language_usage": "Ketik /language diikuti kode bahasa, misalnya /language {example}.",
        "truncated": "Artikel berlanjut secara online.",
        "language_commands": ["language", "lang", "bahasa"],
    },
    "it-IT": {
        "welcome_title": "Ciao, sono Insight Desk",
        "welcome_text": "Incolla un messaggio di errore, in qualsiasi lingua, e troverò l'articolo che lo spiega. "
                        "Digita /language seguito da un codice (ad esempio /language en) per scegliere la mia lingua.",
        "answer_in": "Risposta in {language}",
        "fell_back": "Questo articolo non è disponibile in {wanted}, quindi eccolo in {language}.",
        "helped": "Mi è stato utile",
        "not_helped": "Non mi è stato utile",
        "talk_to_person": "Parla con una persona",
        "change_language": "Altre lingue",
        "show_language": "Mostra in questa lingua",
        "did_you_mean": "Intendevi uno di questi?",
        "not_found": "Non ho trovato un articolo per quel messaggio. Puoi riformularlo, incollare il testo esatto "
                     "dell'errore o parlare con una persona.",
        "thanks": "Grazie per il feedback!",
        "sorry_not_helped": "Mi dispiace che non sia stato utile. Vuoi parlare con una persona?",
        "escalated": "Ho registrato la tua richiesta per il team di supporto, con la tua domanda e ciò che ti ho mostrato.",
        "apology": "Spiacente, qualcosa è andato storto. Riprova tra un momento.",
        "slow_down": "Stai inviando messaggi più velocemente di quanto riesca a rispondere. Attendi un momento e riprova.",
        "language_set": "D'ora in poi risponderò in {language}.",
        "language_unknown": "Non conosco la lingua \"{value}\". Prova una di queste: {choices}.",
        "language_usage": "Digita /language seguito da un codice lingua, ad esempio /language {example}.",
        "truncated": "L'articolo continua online.",
        "language_commands": ["language", "lang", "lingua"],
    },
    "nb-NO": {
        "welcome_title": "Hei, jeg er Insight Desk",
        "welcome_text": "Lim inn en feilmelding, på hvilket som helst språk, så finner jeg artikkelen som forklarer den. "
                        "Skriv /language etterfulgt av en kode (for eksempel /language en) for å velge språket mitt.",
        "answer_in": "Svar på {language}",
        "fell_back": "Artikkelen finnes ikke på {wanted}, så her er den på {language}.",
        "helped": "Dette hjalp",
        "not_helped": "Dette hjalp ikke",
        "talk_to_person": "Snakk med en person",
        "change_language": "Andre språk",
        "show_language": "Vis på dette språket",
        "did_you_mean": "Mente du en av disse?",
        "not_found": "Jeg fant ingen artikkel for den meldingen. Omformuler den, lim inn den nøyaktige "
                     "feilteksten, eller snakk med en person.",
        "thanks": "Takk for tilbakemeldingen!",
        "sorry_not_helped": "Beklager at det ikke hjalp. Vil du snakke med en person?",
        "escalated": "Jeg har registrert forespørselen din for kundestøtteteamet, med spørsmålet ditt og det jeg viste deg.",
        "apology": "Beklager, noe gikk galt hos meg. Prøv igjen om litt.",
        "slow_down": "Du sender meldinger raskere enn jeg rekker å svare. Vent litt og prøv igjen.",
        "language_set": "Jeg svarer på {language} fra nå av.",
        "language_unknown": "Jeg kjenner ikke språket \"{value}\". Prøv ett av: {choices}.",
        "language_usage": "Skriv /language etterfulgt av en språkkode, for eksempel /language {example}.",
        "truncated": "Artikkelen fortsetter på nettet.",
        "language_commands": ["language", "lang", "språk"],
    },
    "nl-NL": {
        "welcome_title": "Hallo, ik ben Insight Desk",
        "welcome_text": "Plak een foutbericht, in welke taal dan ook, en ik zoek het artikel dat het uitlegt. "
                        "Typ /language gevolgd door een code (bijvoorbeeld /language en) om mijn taal te kiezen.",
        "answer_in": "Antwoord in het {language}",
        "fell_back": "Dit artikel is niet beschikbaar in het {wanted}, dus hier is het in het {language}.",
        "helped": "Dit hielp",
        "not_helped": "Dit hielp niet",
        "talk_to_person": "Met een persoon praten",
        "change_language": "Andere talen",
        "show_language": "Weergeven in deze taal",
        "did_you_mean": "Bedoelde u een van deze?",
        "not_found": "Ik kon geen artikel vinden voor dat bericht. Formuleer het anders, plak de exacte fouttekst "
                     "of praat met een persoon.",
        "thanks": "Bedankt voor uw feedback!",
        "sorry_not_helped": "Jammer dat dit niet hielp. Wilt u met een persoon praten?",
        "escalated": "Ik heb uw verzoek voor het ondersteuningsteam vastgelegd, met uw vraag en wat ik u liet zien.",
        "apology": "Sorry, er ging iets mis aan mijn kant. Probeer het zo opnieuw.",
        "slow_down": "Je stuurt berichten sneller dan ik kan antwoorden. Wacht even en probeer het opnieuw.",
        "language_set": "Vanaf nu antwoord ik in het {language}.",
        "language_unknown": "Ik ken de taal \"{value}\" niet. Probeer een van: {choices}.",
        "language_usage": "Typ /language gevolgd door een taalcode, bijvoorbeeld /language {example}.",
        "truncated": "Het artikel gaat online verder.",
        "language_commands": ["language", "lang", "taal"],
    },
    "pl-PL": {
        "welcome_title": "Cześć, jestem Insight Desk",
        "welcome_text": "Wklej komunikat o błędzie w dowolnym języku, a znajdę artykuł, który go wyjaśnia. "
                        "Wpisz /language i kod języka (na przykład /language en), aby wybrać mój język.",
        "answer_in": "Odpowiedź w języku: {language}",
        "fell_back": "Ten artykuł nie jest dostępny w języku {wanted}, więc wyświetlam go w języku {language}.",
        "helped": "To pomogło",
        "not_helped": "To nie pomogło",
        "talk_to_person": "Porozmawiaj z człowiekiem",
        "change_language": "Inne języki",
        "show_language": "Pokaż w tym języku",
        "did_you_mean": "Czy chodziło Ci o jeden z tych?",
        "not_found": "Nie znalazłem artykułu dla tego komunikatu. Sformułuj go inaczej, wklej dokładny tekst błędu "
                     "lub porozmawiaj z człowiekiem.",
        "thanks": "Dziękuję za opinię!",
        "sorry_not_helped": "Przykro mi, że to nie pomogło. Chcesz porozmawiać z człowiekiem?",
        "escalated": "Zarejestrowałem Twoją prośbę dla zespołu pomocy technicznej wraz z pytaniem i tym, co Ci pokazałem.",
        "apology": "Przepraszam, coś poszło nie tak po mojej stronie. Spróbuj ponownie za chwilę.",
        "slow_down": "Wysyłasz wiadomości szybciej, niż zdążę odpowiedzieć. Poczekaj chwilę i spróbuj ponownie.",
        "language_set": "Od teraz będę odpowiadać w języku {language}.",
        "language_unknown": "Nie znam języka „{value}”. Spróbuj jednego z: {choices}.",
        "language_usage": "Wpisz /language i kod języka, na przykład /language {example}.",
        "truncated": "Dalsza część artykułu jest dostępna online.",
        "language_commands": ["language", "lang", "język"],
    },
    "pt-BR": {
        "welcome_title": "Olá, eu sou o Insight Desk",
        "welcome_text": "Cole uma mensagem de erro, em qualquer idioma, e eu encontro o artigo que a explica. "
                        "Digite /language seguido de um código (por exemplo /language en) para escolher meu idioma.",
        "answer_in": "Resposta em {language}",
        "fell_back": "Este artigo não está disponível em {wanted}, então aqui está em {language}.",
        "helped": "Isso ajudou",
        "not_helped": "Isso não ajudou",
        "talk_to_person": "Falar com uma pessoa",
        "change_language": "Outros idiomas",
        "show_language": "Mostrar neste idioma",
        "did_you_mean": "Você quis dizer um destes?",
        "not_found": "Não encontrei um artigo para essa mensagem. Reformule-a, cole o texto exato do erro ou fale "
                     "com uma pessoa.",
        "thanks": "Obrigado pelo retorno!",
        "sorry_not_helped": "Sinto muito que não tenha ajudado. Quer falar com uma pessoa?",
        "escalated": "Registrei sua solicitação para a equipe de suporte, com sua pergunta e o que eu mostrei.",
        "apology": "Desculpe, algo deu errado do meu lado. Tente novamente em instantes.",
        "slow_down": "Você está enviando mensagens mais rápido do que consigo responder. Aguarde um momento e tente novamente.",
        "language_set": "A partir de agora responderei em {language}.",
        "language_unknown": "Não conheço o idioma \"{value}\". Tente um destes: {choices}.",
        "language_usage": "Digite /language seguido de um código de idioma, por exemplo /language {example}.",
        "truncated": "O artigo continua online.",
        "language_commands": ["language", "lang", "idioma"],
    },
    "tr-TR": {
        "welcome_title": "Merhaba, ben Insight Desk",
        "welcome_text": "Herhangi bir dilde bir hata iletisi yapıştırın, onu açıklayan makaleyi bulayım. "
                        "Dilimi seçmek için /language ve ardından bir kod yazın (örneğin /language en).",
        "answer_in": "Yanıt dili: {language}",
        "fell_back": "Bu makale {wanted} dilinde yok, bu yüzden {language} dilinde gösteriyorum.",
        "helped": "Bu yardımcı oldu",
        "not_helped": "Bu yardımcı olmadı",
        "talk_to_person": "Bir kişiyle konuş",
        "change_language": "Diğer diller",
        "show_language": "Bu dilde göster",
        "did_you_mean": "Bunlardan birini mi demek istediniz?",
        "not_found": "Bu ileti için bir makale bulamadım. Farklı ifade edin, hata metninin tamamını yapıştırın "
                     "veya bir kişiyle konuşun.",
        "thanks": "Geri bildiriminiz için teşekkürler!",
        "sorry_not_helped": "Yardımcı olamadığım için üzgünüm. Bir kişiyle konuşmak ister misiniz?",
        "escalated": "İsteğinizi, sorunuz ve size gösterdiklerimle birlikte destek ekibi için kaydettim.",
        "apology": "Üzgünüm, benim tarafımda bir sorun oluştu. Lütfen biraz sonra yeniden deneyin.",
        "slow_down": "Mesajları yanıtlayabileceğimden daha hızlı gönderiyorsunuz. Lütfen biraz bekleyip yeniden deneyin.",
        "language_set": "Bundan sonra {language} dilinde yanıt vereceğim.",
        "language_unknown": "\"{value}\" dilini tanımıyorum. Şunlardan birini deneyin: {choices}.",
        "language_usage": "/language ve ardından bir dil kodu yazın, örneğin /language {example}.",
        "truncated": "Makalenin devamı çevrimiçi.",
        "language_commands": ["language", "lang", "dil"],
    },
}
DEFAULT_LOCALE = "en-US"
for _locale, _entries in ESCALATION_STRINGS.items():  # escalation's strings, kept in their own file
    CATALOG[_locale].update(_entries)


@dataclass(frozen=True)
class Strings:
    """The catalog entry of one locale; ``text(key, **values)`` fills its placeholders."""

    locale: str
    entries: dict[str, Any]

    def text(self, key: str, **values: str) -> str:
        template = self.entries.get(key, CATALOG[DEFAULT_LOCALE][key])
        return str(template).format(**values) if values else str(template)

    @property
    def language_commands(self) -> tuple[str, ...]:
        words = {*CATALOG[DEFAULT_LOCALE]["language_commands"], *self.entries.get("language_commands", [])}
        return tuple(sorted(words))


def strings_for(locale: str | None) -> Strings:
    """The catalog entry that best fits ``locale`` (English when none does)."""
    chosen = negotiate([locale], CATALOG) if locale else None
    chosen = chosen or DEFAULT_LOCALE
    return Strings(chosen, CATALOG[chosen])


def all_language_commands() -> frozenset[str]:
    """Every locale's word for the language command, so "/språk en" works in any chat."""
    return frozenset(w.casefold() for entry in CATALOG.values() for w in entry.get("language_commands", []))
