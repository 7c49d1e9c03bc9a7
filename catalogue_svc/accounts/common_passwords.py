"""A few hundred of the most common passwords (English and French lists of leaked passwords).

Checked lower-cased, and also with trailing digits and symbols removed, so ``Soleil2024!`` and
``Password123`` are refused along with ``soleil`` and ``password``.
"""

from __future__ import annotations

_WORDS = """
123456 123456789 12345678 password qwerty 12345 1234567 111111 1234567890 123123 abc123 1234
password1 iloveyou 1q2w3e4r 000000 qwerty123 zaq12wsx dragon sunshine princess letmein 654321
monkey 27653 1qaz2wsx 123321 qwertyuiop superman asdfghjkl 121212 football baseball welcome
jesus ninja mustang password123 admin 666666 charlie 7777777 michael shadow master 696969
123qwe killer trustno1 jordan jennifer hunter buster soccer harley batman andrew tigger
robert access love thomas hockey ranger daniel starwars klaster 112233 george computer
michelle jessica pepper 131313 freedom pass maggie 159753 aaaaaa ginger joshua cheese amanda
summer ashley nicole chelsea biteme matthew yankees dallas austin thunder taylor matrix
william corvette hello martin heather secret merlin diamond 1234qwer gfhjkm hammer silver
222222 88888888 anthony justin test bailey q1w2e3r4t5 patrick internet scooter orange 11111
golfer cookie richard samantha bigdog guitar jackson whatever mickey chicken sparky snoopy
maverick phoenix camaro peanut morgan welcome1 falcon cowboy ferrari samsung andrea smokey
steelers joseph mercedes dakota arsenal eagles melissa boomer booboo spider nascar monster
tigers yellow xxxxxx 123123123 gateway marina diablo bulldog qwer1234 compaq purple hardcore
banana junior hannah 123654 porsche lakers iceman money cowboys 987654 london tennis 999999
ncc1701 coffee scooby 0000 miller boston q1w2e3r4 brandon yamaha chester mother forever
johnny edward 333333 oliver redsox player nikita knight fender barney midnight please brandy
chicago badboy slayer rangers charles angel flower bigdaddy rabbit wizard jasper enter
rachel chris steven winner adidas victoria natasha 1q2w3e4r5t pussy spanky asshole gandalf
1qazxsw2 abcd1234 abcdef abcdefg abcdefgh 1111111 11111111 00000000 12341234 passw0rd
p@ssw0rd p@ssword pa55word password! password12 password1234 qwerty1 qwerty12 qwertyui
qwerty1234 1qaz2wsx3edc zxcvbnm zxcvbnm123 asdf1234 asdfasdf asdfgh asdfghjk 1q2w3e 1q2w3e4r5t6y
iloveyou1 iloveyou2 letmein1 welcome123 welcome2024 admin123 administrator root toor changeme
default guest login user test123 testtest demo demo1234 secret123 monkey123 dragon123
football1 baseball1 superman1 batman123 starwars1 pokemon minecraft fortnite roblox
liverpool chelsea1 arsenal1 manchester barcelona realmadrid juventus canada canada123
montreal quebec quebec123 toronto vancouver canadiens habs habs nordiques expos
motdepasse motdepasse1 motdepasse123 azerty azerty123 azertyuiop azerty1 azertyui azertyu
soleil soleil123 bonjour bonjour123 bonsoir salut salut123 coucou coucou123 doudou loulou
chouchou chouchou1 doudou123 loulou123 nicolas julien camille marseille marseille13 paris
paris123 france france123 olivier vincent thomas1 alexandre antoine sebastien sebastien1
jetaime jetaime1 jetaime123 amour amour123 chocolat chocolat1 pompier princesse princesse1
caramel nounours bisous bisous123 bebe mamour cheval chevaux liberte celine doudou1 maison
maison123 voiture poisson lapinou chaton chaton123 tigrou tigrou1 loulou1 marine marion
mathieu pierre philippe frederic guillaume maxime benjamin mariepier marie-pier catherine
isabelle stephanie veronique nathalie sylvie chantal genevieve gabriel raphael samuel
felix emile hockey1 hockey123 tabarnak tabarnac caline ostie poutine erable sirop
construction chantier bienvenue bienvenue1 bienvenue123 courriel ordinateur internet1
commission ccq12345 ccqccq services servicesenligne enligne connexion compte compte123
utilisateur 12345678910 123456789a a123456789 a12345678 abc12345 abcd12345 aa123456
qwe123 qweqwe qazwsx qazwsxedc 1qazxsw23edc zaq1zaq1 zaq1xsw2 !qaz2wsx 147258369 147258
159357 258456 741852963 789456123 789456 963852741 987654321 0987654321 112233445566
11223344 12121212 13131313 69696969 55555555 77777777 99999999 123abc 123456a 123456aa
1234abcd 12qwaszx 1a2b3c4d q1w2e3r4 qwertz qwertz123 asdfqwer passpass pass1234 password2
password01 password99 passwort hallo123 trustno11 sunshine1 princess1 shadow1 master1
michael1 jennifer1 jordan23 hunter2 charlie1 thomas123 summer2024 summer2023 summer2025
winter2024 winter2025 automne2024 hiver2024 hiver2025 printemps ete2024 janvier2025
janvier2026 fevrier2026 spring2024 autumn2024 december november september october
qwerty2024 qwerty2025 company company123 welcome2025 welcome2026 letmein123 iloveyou123
lovely loveme loveyou baby123 babygirl sweety sweetie angel1 angels blessed blessing
flower1 butterfly cookie1 pepper1 maggie1 buster1 ginger1 bailey1 sophie sophie1 lucky
lucky1 lucky7 tiger tiger1 eagle eagle1 sparrow falcon1 dolphin dolphins elephant penguin
unicorn rainbow sunflower snowball snowflake starlight moonlight midnight1 darkness
zxcvbn zxcvbnm1 mnbvcxz poiuytreza poiuytrewq lkjhgfdsa 0987654 a1b2c3 a1b2c3d4 aaa111
aaaa1111 abc abcabc abcabc123 test1234 test12345 testing testing123 temp1234 temporary
"""

COMMON_PASSWORDS: frozenset[str] = frozenset(_WORDS.split())
